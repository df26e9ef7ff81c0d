"""``swarmfeed demo`` as a newcomer meets it: real nodes, generated media, headless Chromium.

The demo's own code starts three sample creators and "your" node on 127.0.0.205-209, encodes
its clip, field recording and welcome clip with PyAV, and posts them. The tests play the clip
and the recording in the browser, watch the creators (following you back) pull your welcome
clip from your node, and ask ``swarmfeed id`` for the running node's address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from click.testing import CliRunner
from playwright.sync_api import BrowserContext, Page, expect
from webkit import DESKTOP, PHONE, layout_problems, shoot

from swarmfeed.cli.main import main
from swarmfeed.demo.media import VideoSpec, make_audio, make_video
from swarmfeed.demo.scenario import Demo
from swarmfeed.localswarm import free_port
from swarmfeed.node.layout import HomeLayout

pytestmark = pytest.mark.browser

CLIP_SECONDS = 8.0
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo")
    http = f"127.0.0.209:{free_port('127.0.0.209')}"
    running = Demo(root, http, creators=3, clip_seconds=CLIP_SECONDS, first_ip=205)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_generated_media_is_webm_vp8_opus_and_ogg_opus(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.webm", VideoSpec("testsrc2", seconds=2.0))
    with av.open(str(clip)) as probe:
        assert probe.format.name.split(",")[0] == "matroska"
        codecs = sorted(stream.codec_context.name for stream in probe.streams)
        assert codecs == ["opus", "vp8"]
        assert probe.duration is not None and 1.9 <= probe.duration / av.time_base <= 2.2
    sound = make_audio(tmp_path / "sound.opus", 1.5)
    with av.open(str(sound)) as probe:
        assert probe.format.name == "ogg"
        assert [stream.codec_context.name for stream in probe.streams] == ["opus"]


def play(page: Page, selector: str) -> None:
    """Start a media element (muted) and wait until its playhead has moved a second."""
    player = page.locator(selector).first
    player.scroll_into_view_if_needed()
    page.evaluate("m => { m.muted = true; return m.play(); }", player.element_handle())
    page.wait_for_function(
        "m => m.currentTime > 1 && !m.paused && m.error === null",
        arg=player.element_handle(),
        timeout=TIMEOUT_MS,
    )


def test_the_demo_clip_and_recording_play(
    demo: Demo, context: BrowserContext, screenshots: Path
) -> None:
    assert demo.you is not None
    page = context.new_page()
    page.set_viewport_size(DESKTOP)
    page.goto(demo.you.url + "/")
    clip = page.locator("article.post", has_text="A new clip")
    # The creators' posts reach your node through its head polls; the page shows them live.
    expect(clip.locator("video")).to_have_attribute(
        "src", re.compile(r"mandelbrot-zoom\.webm$"), timeout=TIMEOUT_MS
    )
    play(page, "article.post:has-text('A new clip') video")
    shoot(page, screenshots, "demo-timeline-1280")

    recording = page.locator("article.post", has_text="Field recording")
    expect(recording.locator("audio")).to_have_attribute(
        "src", re.compile(r"field-recording\.opus$"), timeout=TIMEOUT_MS
    )
    play(page, "article.post:has-text('Field recording') audio")


def test_the_creators_pull_your_welcome_clip_from_your_node(
    demo: Demo, context: BrowserContext, screenshots: Path
) -> None:
    assert demo.you is not None and demo.welcome is not None
    demo.swarm.wait_for(
        "every creator to hold the welcome clip",
        lambda: len(demo.fetched_welcome()) == len(demo.people),
        timeout=120,
    )

    # Seeds drop their connections to each other, so your node counts the creators it saw as
    # seeds: at least one besides itself (others may have fetched from each other). The count
    # comes from the status cache, refreshed with libtorrent's state updates.
    def counts_a_creator() -> bool:
        shown = demo.served()[1]
        return shown.startswith("≥") and int(shown[1:]) >= 2

    demo.swarm.wait_for("your node to count a creator as a seed", counts_a_creator, timeout=60)
    served, copies = demo.served()
    assert served > 0
    assert copies.startswith("≥") and 2 <= int(copies[1:]) <= len(demo.people) + 1, copies

    page = context.new_page()
    page.set_viewport_size(DESKTOP)
    page.goto(demo.you.url + "/swarm")
    row = page.locator("[data-torrents] tr", has_text="welcome.webm — You")
    expect(row.locator("[data-t=total_upload]")).not_to_have_text("0 Bytes")
    expect(row.locator("[data-t=distributed_copies]")).to_have_text(copies)
    expect(page.locator(".statusbar [data-stat=bytes_up]")).not_to_have_text("0 Bytes")
    shoot(page, screenshots, "demo-swarm-1280")


def test_demo_pages_fit_a_phone(
    demo: Demo, browser_phone: BrowserContext, screenshots: Path
) -> None:
    assert demo.you is not None
    page = browser_phone.new_page()
    for name, path in (("timeline", "/"), ("swarm", "/swarm"), ("following", "/following")):
        page.goto(demo.you.url + path)
        expect(page.locator("main")).to_be_visible()
        shoot(page, screenshots, f"demo-{name}-390")
        assert layout_problems(page) == [], name


def test_swarmfeed_id_during_the_demo_prints_the_running_nodes_address(
    demo: Demo, tmp_path: Path
) -> None:
    assert demo.you is not None
    address = demo.you.api("GET", "/api/status")["address"]
    host_port = demo.you.url.removeprefix("http://")
    # A newcomer's empty ~/.swarmfeed: the CLI asks the running node instead of the key file.
    result = CliRunner().invoke(main, ["id", "--home", str(tmp_path), "--http", host_port])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == address
    assert "swarmfeed init" not in result.output
    assert not HomeLayout(tmp_path).key_file.exists()


@pytest.fixture
def browser_phone(context: BrowserContext) -> Iterator[BrowserContext]:
    assert context.browser is not None
    phone = context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield phone
    phone.close()

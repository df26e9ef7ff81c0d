"""Media over the automatic fetch limit: what it is and why, and a button that fetches it.

Rita fetches at most 64 KiB of a post's media on her own. Sam posts a picture with a 300 KiB
recording: on Rita's pages the post says what it holds, how large it is and why it was not
fetched, shows no broken image, and fetches it when she presses the button.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect
from webkit import make_png, shoot

from swarmfeed.core.units import format_size
from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.browser

SUBNET = "127.0.1"
CAP = 64 * 1024
RECORDING = os.urandom(300 * 1024)


class Pair:
    swarm: LocalSwarm
    rita: LocalNode
    sam: LocalNode
    post: dict[str, Any]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("held")
    swarm = LocalSwarm(root, poll_interval=1.0, first_ip=35, subnet=SUBNET)
    with swarm.running():
        state = Pair()
        state.swarm = swarm
        state.sam = swarm.add("sam", extra_args=["--name", "Sam"])
        state.rita = swarm.add("rita", start=False)
        state.rita.env["SWARMFEED_AUTO_FETCH_MAX_BYTES"] = str(CAP)
        swarm.start(state.rita)
        (root / "shore.png").write_bytes(make_png())
        (root / "waves.bin").write_bytes(RECORDING)
        with (root / "shore.png").open("rb") as png, (root / "waves.bin").open("rb") as rec:
            state.post = state.sam.api(
                "POST",
                "/api/posts",
                data={"text": "the shore, with sound"},
                files=[("files", png), ("files", rec)],
            )
        address = state.sam.api("GET", "/api/status")["address"]
        state.rita.api("POST", "/api/follows", json={"author": address})
        swarm.wait_for(
            "rita to hold sam's post",
            lambda: (
                state.rita.api("GET", f"/api/posts/{state.post['id']}")["media"]["fetch"]
                == "skipped"
            ),
        )
        yield state


def media_torrents(node: LocalNode) -> list[dict[str, Any]]:
    return [t for t in node.api("GET", "/api/torrents") if t["kind"] == "media"]


def test_held_back_media_says_why_and_fetches_on_request(
    pair: Pair, context: BrowserContext, screenshots: Path
) -> None:
    page = context.new_page()
    page.goto(pair.rita.url + "/")
    card = page.locator("article.post", has_text="the shore, with sound")
    held = card.locator("[data-held-back]")

    size = format_size(pair.post["media"]["total_size"])  # the picture and the recording
    expect(held).to_contain_text(f"shore.png, waves.bin · {size}")
    expect(held).to_contain_text(
        f"Not fetched automatically: {size} is over the 64.0 KiB automatic fetch limit per post"
    )
    assert card.locator("img, video, audio, .health").count() == 0, "nothing pulls the media"
    assert "not held" not in card.inner_text()
    assert media_torrents(pair.rita) == [], "the page made the node fetch the media"
    shoot(page, screenshots, "held-back")

    held.get_by_role("button", name=f"Fetch {size}").click()

    picture = card.locator(".media img")
    expect(picture).to_be_visible(timeout=60_000)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 96", arg=picture.element_handle()
    )
    expect(card.locator("[data-h='state']")).to_have_text("seeding", timeout=60_000)
    [torrent] = media_torrents(pair.rita)
    assert torrent["infohash"] == pair.post["media"]["infohash"]
    assert torrent["total_done"] == pair.post["media"]["total_size"]


def test_fetch_is_refused_for_unknown_media(pair: Pair) -> None:
    response = pair.rita.client.post(f"/api/media/{'ab' * 20}/fetch")
    assert response.status_code == 404

"""Every page at phone and desktop width, with real data from real nodes.

Bob follows Alice (a long display name, a long link, a picture, a video clip and a file with a
long name) and Carol (who never posts: her row stays "searching" with an explanation); Alice
follows Bob back and fetches his post, so Bob's node serves bytes. The checks: no page scrolls
sideways at 390 px and nothing sticks out of its card; the nav is one line; the "signed" badge
stays on the author's line; counts agree with their nouns, also after the live updates; the
swarm table uses the desktop's width, keeps sizes and rates on one line, names every torrent by
its files and author, and shows idle rates as idle; a page of it links to the others and its
live refresh asks for that page only; app.js writes sizes as the server does.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from webkit import DESKTOP, PHONE, layout_problems, make_png, shoot

from swarmfeed.core.units import format_rate, format_size
from swarmfeed.demo.media import VideoSpec, make_video
from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.browser

ALICE_NAME = "Alice Wonderland-Smythe"
LONG_FILE = "field-notes-from-the-long-walk-along-the-river-without-any-spaces.txt"
LONG_LINK = "https://example.org/" + "a-very-long-path-segment/" * 4


class World:
    alice: LocalNode
    bob: LocalNode
    carol: LocalNode
    alice_post: str
    bob_post: str
    alice_key: str
    bob_key: str


def post(node: LocalNode, text: str, files: list[Path]) -> str:
    handles = [("files", (path.name, path.open("rb"), None)) for path in files]
    try:
        return str(node.api("POST", "/api/posts", data={"text": text}, files=handles)["id"])
    finally:
        for _, (_, handle, _) in handles:
            handle.close()


def holds(node: LocalNode, post_id: str) -> bool:
    response = node.client.get(f"/api/posts/{post_id}")
    return response.status_code == 200 and bool(response.json()["media"]["seeding"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("layout")
    swarm = LocalSwarm(root, poll_interval=1.0, republish_interval=20.0, first_ip=190)
    with swarm.running():
        state = World()
        state.alice = swarm.add("alice", extra_args=["--name", ALICE_NAME])
        state.bob = swarm.add("bob", extra_args=["--name", "Bob"])
        state.carol = swarm.add("carol")
        files = root / "files"
        files.mkdir()
        (files / "sunset.png").write_bytes(make_png())
        (files / LONG_FILE).write_text("notes\n" * 1000)
        make_video(files / "clip.webm", VideoSpec("testsrc2", seconds=3))
        state.alice_post = post(
            state.alice,
            f"Sunset, a clip and my notes: {LONG_LINK}",
            [files / "sunset.png", files / "clip.webm", files / LONG_FILE],
        )
        (files / "bob.png").write_bytes(make_png(64, 48))
        state.bob_post = post(state.bob, "Hello from Bob", [files / "bob.png"])
        state.alice_key = state.alice.api("GET", "/api/status")["author"]
        state.bob_key = state.bob.api("GET", "/api/status")["author"]
        for key in (state.alice_key, state.carol.api("GET", "/api/status")["author"]):
            state.bob.api("POST", "/api/follows", json={"author": key})
        state.alice.api("POST", "/api/follows", json={"author": state.bob_key})
        swarm.wait_for("bob to hold alice's post", lambda: holds(state.bob, state.alice_post))
        swarm.wait_for("alice to hold bob's post", lambda: holds(state.alice, state.bob_post))
        yield state


def pages(world: World) -> dict[str, str]:
    return {
        "timeline": "/",
        "compose": "/compose",
        "post": f"/posts/{world.alice_post}",
        "own-post": f"/posts/{world.bob_post}",
        "author": f"/authors/{world.alice_key}",
        "me": f"/authors/{world.bob_key}",
        "following": "/following",
        "swarm": "/swarm",
        "swarm-paged": "/swarm?page=2&per=1",
        "not-found": f"/posts/{'0' * 64}",
    }


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield ctx
    ctx.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=DESKTOP)
    yield ctx
    ctx.close()


def open_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    expect(page.locator("main")).to_be_visible()
    return page


PAGE_NAMES = ["timeline", "compose", "post", "own-post", "author", "me", "following", "swarm"]
PAGE_NAMES += ["swarm-paged"]


@pytest.mark.parametrize("name", [*PAGE_NAMES, "not-found"])
def test_no_page_scrolls_sideways_on_a_phone(
    world: World, phone: BrowserContext, screenshots: Path, name: str
) -> None:
    page = open_page(phone, world.bob.url + pages(world)[name])
    if name in ("post", "author", "timeline"):
        expect(page.locator("article.post").first).to_be_visible()
    shoot(page, screenshots, f"layout-{name}-390")

    assert layout_problems(page) == []


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_desktop_pages(world: World, desktop: BrowserContext, screenshots: Path, name: str) -> None:
    page = open_page(desktop, world.bob.url + pages(world)[name])
    shoot(page, screenshots, f"layout-{name}-1280")

    assert layout_problems(page) == []


def test_counts_keep_their_nouns_after_live_updates(world: World, phone: BrowserContext) -> None:
    page = phone.new_page()
    page.goto(world.bob.url + "/swarm")
    # app.js refreshes the status bar and the swarm table every 2 s from the JSON API.
    for _ in range(2):
        with page.expect_response(lambda r: "/api/torrents?" in r.url):
            pass
    assert layout_problems(page) == []
    for count in page.locator("[data-stat=peers], [data-stat=dht_nodes]").all_inner_texts():
        assert re.fullmatch(r"1 (peer|DHT node)|(?!1 )\d+ (peers|DHT nodes)", count), count


def test_swarm_table_uses_the_width_and_names_every_torrent(
    world: World, desktop: BrowserContext
) -> None:
    page = open_page(desktop, world.bob.url + "/swarm")
    table = page.locator("[data-torrents]")
    assert (table.bounding_box() or {"width": 0})["width"] > 1000

    lines = page.evaluate(
        """() => [...document.querySelectorAll(
                    '[data-torrents] td.num, [data-torrents] td.nowrap')]
          .map(td => { const r = document.createRange(); r.selectNodeContents(td);
                       const tops = [...r.getClientRects()].map(x => Math.round(x.top));
                       return [td.textContent.trim(), new Set(tops).size]; })"""
    )
    assert lines and all(count == 1 for _, count in lines), [t for t, c in lines if c != 1]

    names = page.locator("[data-torrents] td.main").all_inner_texts()
    assert any("clip.webm" in n and LONG_FILE in n and ALICE_NAME in n for n in names), names
    assert any(n.startswith("bob.png — Bob") for n in names), names  # the node's own post
    assert not [n for n in names if re.match(r"post-\d+", n)], names
    own = page.locator("[data-torrents] tr", has_text="bob.png — Bob")
    expect(own.locator("td.main a[href^='/posts/']")).to_have_attribute(
        "href", f"/posts/{world.bob_post}"
    )
    expect(own.locator("td.main a[download]")).to_have_text(".torrent")
    expect(own.locator("[data-t=total_upload]")).not_to_have_text("0 Bytes")

    rates = page.locator("[data-t=download_rate], [data-t=upload_rate]").all_inner_texts()
    assert not [r for r in rates if re.fullmatch(r"\d+ Bytes?/s", r)], rates


def test_the_swarm_page_shows_one_page_and_polls_only_for_it(
    world: World, desktop: BrowserContext
) -> None:
    total = len(world.bob.api("GET", "/api/torrents"))
    assert total >= 3  # Bob's page and post, Alice's page and post
    page = open_page(desktop, world.bob.url + "/swarm?page=2&per=1")
    expect(page.locator("[data-showing]")).to_contain_text(f"Showing 2–2 of {total} torrents")
    expect(page.locator("[data-torrents] tbody tr")).to_have_count(1)
    with page.expect_response(lambda r: "/api/torrents?" in r.url) as polled:
        pass
    assert polled.value.url.endswith("/api/torrents?limit=1&offset=1")
    assert len(polled.value.json()) == 1

    page.locator("[data-pager] a[rel=next]").click()
    expect(page.locator("[data-showing]")).to_contain_text(f"Showing 3–3 of {total} torrents")
    page.locator("[data-pager] a[rel=prev]").click()
    page.locator("[data-pager] a[rel=prev]").click()
    expect(page.locator("[data-showing]")).to_contain_text(f"Showing 1–1 of {total} torrents")
    expect(page.locator("[data-pager] a[rel=prev]")).to_have_count(0)


def test_app_js_writes_sizes_and_rates_as_the_server_does(
    world: World, desktop: BrowserContext
) -> None:
    page = open_page(desktop, world.bob.url + "/")
    values = [0, 1, 2, 300, 1023, 1024, 1280, 1331, 1536, 10_000, 1_048_575, 1_048_576]
    values += [3 * 1024**2 + 5, 5 * 1024**3 // 2, 7 * 1024**4, 123_456_789, 1024**3 - 1]
    draw = random.Random(13)
    values += [int(10 ** draw.uniform(0, 13)) for _ in range(400)]
    shown = page.evaluate(
        "vs => vs.map(v => [swarmfeedUnits.humanBytes(v), swarmfeedUnits.humanRate(v)])", values
    )
    assert shown == [[format_size(v), format_rate(v)] for v in values]

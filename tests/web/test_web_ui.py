"""Issue 3 in a real browser: Debian's headless Chromium against real node processes.

Alice and Bob are swarmfeed nodes on 127.0.0.x with a private DHT; Bob follows Alice. Carol
is a creator on a slow uplink (her upload capped, loopback included) so that Bob is still
downloading her video while his browser plays it. Dora's web UI asks for an access token.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from webkit import make_png, shoot

from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 60_000


def ffmpeg() -> str:
    """Return the ffmpeg binary (installed by scripts/test) or fail clearly."""
    found = shutil.which("ffmpeg")
    if found is None:
        pytest.fail("ffmpeg is missing: run ./scripts/test, which installs it")
    return found


class World:
    swarm: LocalSwarm
    alice: LocalNode
    bob: LocalNode


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("web")
    swarm = LocalSwarm(root, poll_interval=1.0, republish_interval=20.0, first_ip=100)
    with swarm.running():
        state = World()
        state.swarm = swarm
        state.alice = swarm.add("alice", extra_args=["--name", "Alice"])
        state.bob = swarm.add("bob", extra_args=["--name", "Bob"])
        address = state.alice.api("GET", "/api/status")["address"]
        state.bob.api("POST", "/api/follows", json={"author": address})
        yield state


def open_live(context: BrowserContext, url: str) -> Page:
    """Open ``url`` and wait until its Server-Sent Events stream is connected."""
    page = context.new_page()
    page.goto(url)
    expect(page.locator("[data-live-state]")).to_have_text("live", timeout=15_000)
    page.evaluate("window.__loadedOnce = 'yes'")
    return page


def find_post(node: LocalNode, text: str) -> dict[str, Any] | None:
    posts = node.api("GET", "/api/timeline")["posts"]
    return next((p for p in posts if p["text"] == text), None)


def test_image_composed_on_alice_appears_live_on_bobs_timeline(
    world: World, context: BrowserContext, tmp_path: Path, screenshots: Path
) -> None:
    # Alice has posted nothing yet: the post reaches Bob through his head polls.
    bob_page = open_live(context, world.bob.url + "/")

    image = tmp_path / "sunset.png"
    image.write_bytes(make_png())
    alice_page = context.new_page()
    alice_page.goto(world.alice.url + "/compose")
    alice_page.get_by_label("Text").fill("Sunset over the swarm https://example.org/sunset")
    alice_page.get_by_label("Photos, video, audio or other files").set_input_files(str(image))
    shoot(alice_page, screenshots, "compose")
    alice_page.get_by_role("button", name="Post").click()
    # After posting, Alice lands on her own timeline with the post already on it.
    alice_page.wait_for_url(world.alice.url + "/")
    own = alice_page.locator("article.post", has_text="Sunset over the swarm")
    expect(own).to_be_visible()
    expect(own.locator("a[href='https://example.org/sunset']")).to_have_attribute(
        "rel", "nofollow noopener noreferrer"
    )

    card = bob_page.locator("article.post", has_text="Sunset over the swarm")
    expect(card).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    assert bob_page.evaluate("window.__loadedOnce") == "yes", "the page was reloaded"
    expect(card.locator(".badge.ok")).to_have_text("✓ signed")
    # The image is streamed from Bob's node, which fetched it from the swarm.
    picture = card.locator(".media img")
    expect(picture).to_have_attribute("src", re.compile(r"^/api/media/[0-9a-f]{40}/"))
    picture.scroll_into_view_if_needed()
    bob_page.wait_for_function(
        "img => img.complete && img.naturalWidth === 96", arg=picture.element_handle()
    )
    shoot(bob_page, screenshots, "timeline")

    post_id = card.get_attribute("data-post-id")
    bob_page.goto(f"{world.bob.url}/posts/{post_id}")
    expect(bob_page.locator(".details")).to_contain_text("signature valid for the author key")
    shoot(bob_page, screenshots, "post")

    phone = context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[union-attr]
    try:
        small = phone.new_page()
        small.goto(world.bob.url + "/")
        expect(small.locator("article.post").first).to_be_visible()
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the timeline scrolls sideways on a phone ({width}px)"
        shoot(small, screenshots, "timeline-phone")
    finally:
        phone.close()


def test_script_and_img_onerror_in_a_post_are_shown_as_text(
    world: World, context: BrowserContext
) -> None:
    hostile = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    bob_page = open_live(context, world.bob.url + "/")
    world.alice.api("POST", "/api/posts", data={"text": hostile})

    for page in (bob_page, context.new_page()):
        if page is not bob_page:
            page.goto(world.alice.url + "/")
        text = page.locator("article.post .text", has_text="window.__xss = 1")
        expect(text).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        assert text.inner_text() == hostile
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("article.post .text img, article.post .text script").count() == 0


def test_author_following_and_swarm_pages(
    world: World, context: BrowserContext, screenshots: Path
) -> None:
    address = world.alice.api("GET", "/api/status")["address"]
    page = context.new_page()
    page.goto(world.bob.url + "/following")
    row = page.locator("tr", has_text="Alice")
    expect(row.locator("[data-follow-state]")).to_have_text("synced", timeout=LIVE_TIMEOUT_MS)
    # Alice's new posts are pushed to Bob (Bob subscribed to Alice's node: one hop).
    world.swarm.wait_for("Bob to be live", lambda: world.bob.api("GET", "/api/follows")[0]["live"])
    page.reload()
    expect(row.locator("[data-follow-delivery]")).to_have_text("live · 1 hop")
    shoot(page, screenshots, "following")

    # A bad address gets a clear error and keeps what was typed.
    page.get_by_label("Follow an author by address").fill("magnet:?xs=urn:btpk:1234")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.locator(".error")).to_contain_text("64 hex digits")

    page.goto(f"{world.bob.url}/authors/{quote(address, safe='')}")  # an address works as a key
    expect(page.locator("#address")).to_have_value(address)
    page.get_by_text("QR code").click()
    expect(page.locator(".qr-code svg")).to_be_visible()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    shoot(page, screenshots, "author")

    page.goto(world.bob.url + "/swarm")
    media_row = page.locator("tr", has_text="media")
    expect(media_row.first).to_be_visible()
    expect(media_row.first.locator("[data-t=state]")).to_contain_text("seeding")
    shoot(page, screenshots, "swarm")

    # Keyboard: the skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_video_plays_on_bob_while_bob_is_still_downloading_it(
    world: World, context: BrowserContext, tmp_path: Path, screenshots: Path
) -> None:
    video = tmp_path / "clip.webm"
    subprocess.run(
        [
            ffmpeg(),
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=480x270:rate=25",
            "-t",
            "60",
            "-c:v",
            "libvpx",
            "-b:v",
            "400k",
            "-minrate",
            "400k",
            "-maxrate",
            "400k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            str(video),
        ],
        check=True,
    )
    size = video.stat().st_size
    # Carol's uplink carries 1.5x the video's bitrate: Bob needs ~40 s for the whole file,
    # while playback can start after the first pieces.
    rate = max(size // 40, 50_000)
    carol = world.swarm.add(
        "carol", extra_args=["--upload-rate", str(rate), "--rate-limit-local", "--name", "Carol"]
    )
    with video.open("rb") as handle:
        posted = carol.api(
            "POST",
            "/api/posts",
            data={"text": "A clip to stream"},
            files=[("files", ("clip.webm", handle, "video/webm"))],
        )
    address = carol.api("GET", "/api/status")["address"]
    world.bob.api("POST", "/api/follows", json={"author": address})
    post_id = posted["id"]
    world.swarm.wait_for(
        "bob to receive carol's post",
        lambda: world.bob.client.get(f"/api/posts/{post_id}").status_code == 200,
    )

    page = context.new_page()
    page.goto(f"{world.bob.url}/posts/{post_id}")
    player = page.locator("video")
    expect(player).to_be_visible()
    page.evaluate("v => { v.muted = true; return v.play(); }", player.element_handle())
    page.wait_for_function(
        "v => v.currentTime > 2 && !v.paused", arg=player.element_handle(), timeout=60_000
    )
    progress = world.bob.api("GET", f"/api/posts/{post_id}")["media"]["progress"]
    assert progress < 1.0, "the whole file was there before playback: nothing was streamed"
    first = page.evaluate("v => v.currentTime", player.element_handle())
    page.wait_for_function(
        f"v => v.currentTime > {first + 1.5}", arg=player.element_handle(), timeout=60_000
    )
    shoot(page, screenshots, "video")


def test_token_gate_refuses_requests_without_the_token(
    world: World, context: BrowserContext
) -> None:
    dora = world.swarm.add("dora", extra_args=["--require-token"])
    token = dora.web_token
    assert token

    bare = httpx.get(dora.url + "/api/status")
    assert bare.status_code == 401
    assert bare.json()["detail"] == "an access token is required"
    assert httpx.get(dora.url + "/api/status", params={"token": "wrong"}).status_code == 401
    with_bearer = httpx.get(dora.url + "/api/status", headers={"Authorization": f"Bearer {token}"})
    assert with_bearer.status_code == 200

    page = context.new_page()
    refused = page.goto(dora.url + "/")
    assert refused is not None and refused.status == 401
    expect(page.get_by_role("heading")).to_have_text("Access token required")

    # The printed URL carries the token once; the browser then holds it as a cookie.
    page.goto(f"{dora.url}/?token={token}")
    assert "token" not in page.url
    expect(page.get_by_role("link", name="Timeline")).to_have_attribute("aria-current", "page")

    # A state-changing request with the cookie but without the CSRF token is refused...
    no_csrf = page.evaluate(
        """() => fetch('/api/follows', {method: 'POST', headers: {'Content-Type':
        'application/json'}, body: JSON.stringify({author: 'x'})}).then(r => r.status)"""
    )
    assert no_csrf == 403
    # ...and with it the request reaches the API (which then judges the address itself).
    with_csrf = page.evaluate(
        """() => fetch('/api/follows', {method: 'POST', headers: {'Content-Type':
        'application/json', 'X-CSRF-Token': document.querySelector('meta[name=csrf-token]')
        .content}, body: JSON.stringify({author: 'x'})}).then(r => r.status)"""
    )
    assert with_csrf == 400
    dora.stop()


def test_oversized_upload_gets_a_clear_message(world: World, context: BrowserContext) -> None:
    erin = world.swarm.add("erin", extra_args=["--max-upload", "100000"])
    page = context.new_page()
    page.goto(erin.url + "/compose")
    big = Path(erin.home / "big.bin")
    big.write_bytes(b"\0" * 200_000)
    page.get_by_label("Text").fill("too big")
    page.get_by_label("Photos, video, audio or other files").set_input_files(str(big))
    page.get_by_role("button", name="Post").click()
    expect(page.locator("[data-error]")).to_contain_text("accepts up to")
    # The API refuses it too, with the limit in the message, and the node keeps running.
    with big.open("rb") as handle:
        response = erin.client.post(
            "/api/posts", data={"text": "too big"}, files=[("files", ("big.bin", handle))]
        )
    assert response.status_code == 413
    assert "100000-byte limit" in response.json()["detail"]
    assert erin.client.get("/api/status").status_code == 200
    erin.stop()

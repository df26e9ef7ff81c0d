"""The token login page and the follow buttons of an author page, in a real browser.

Node processes on 127.0.0.150 (``--require-token``) and 127.0.0.151 (open), Chromium through
Playwright.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, expect

from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalNode, LocalNode]]:
    swarm = LocalSwarm(tmp_path_factory.mktemp("login"), poll_interval=3600, first_ip=150)
    with swarm.running():
        gated = swarm.add("gated", extra_args=["--require-token"])
        open_node = swarm.add("open")
        yield gated, open_node


def test_a_browser_without_the_token_gets_a_login_page(
    nodes: tuple[LocalNode, LocalNode], context: BrowserContext
) -> None:
    gated, _ = nodes
    page = context.new_page()
    first = page.goto(gated.url + "/following")
    assert first is not None and first.status == 401
    expect(page.get_by_role("heading")).to_have_text("Access token required")
    expect(page.locator("main")).to_contain_text("web_token")

    field = page.get_by_label("Access token")
    field.fill("not-the-token")
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("alert")).to_contain_text("not this node's access token")

    page.get_by_label("Access token").fill(str(gated.web_token))
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(gated.url + "/following")
    expect(page.get_by_role("link", name="Following")).to_have_attribute("aria-current", "page")
    assert "token" not in page.url


def test_the_login_page_fits_a_phone(
    nodes: tuple[LocalNode, LocalNode], context: BrowserContext
) -> None:
    gated, _ = nodes
    phone = context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[union-attr]
    try:
        page = phone.new_page()
        page.goto(gated.url + "/")
        expect(page.get_by_label("Access token")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        phone.close()


def test_follow_and_unfollow_on_an_author_page_stay_on_that_page(
    nodes: tuple[LocalNode, LocalNode], context: BrowserContext
) -> None:
    _, node = nodes
    author = "ab" * 32
    page = context.new_page()
    url = f"{node.url}/authors/{author}"
    page.goto(url)
    with page.expect_navigation():
        page.get_by_role("button", name="Follow", exact=True).click()
    assert page.url == url
    expect(page.locator("#address")).to_be_visible()  # the author's own page, not a list
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()

    with page.expect_navigation():
        page.get_by_role("button", name="Unfollow").click()
    assert page.url == url
    expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()

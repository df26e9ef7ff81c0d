"""Replies, reposts, likes, deletes and the notifications badge in Chromium, on real nodes.

Alice and Bob are node processes on 127.0.5.60-61 with a private DHT; Bob follows Alice, Alice
follows nobody, so everything Bob does reaches her through notices. The steps share the nodes
and run in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000


class World:
    swarm: LocalSwarm
    alice: LocalNode
    bob: LocalNode
    question: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("social-web")
    swarm = LocalSwarm(
        root, poll_interval=1.0, republish_interval=60.0, first_ip=60, subnet="127.0.5"
    )
    with swarm.running():
        state = World()
        state.swarm = swarm
        state.alice = swarm.add("alice")
        state.bob = swarm.add("bob")
        address = state.alice.api("GET", "/api/status")["address"]
        state.bob.api("POST", "/api/follows", json={"author": address})
        state.question = state.alice.api("POST", "/api/posts", data={"text": "what now?"})
        swarm.wait_for(
            "bob to hold alice's question",
            lambda: state.bob.client.get(f"/api/posts/{state.question['id']}").status_code == 200,
        )
        yield state


def open_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(url)
    return page


def card(page: Page, post_id: str) -> Any:
    return page.locator(f'article[data-post-id="{post_id}"]').first


def test_reply_from_the_post_page_reaches_the_author_and_her_badge(
    world: World, context: BrowserContext
) -> None:
    question = world.question
    alice = open_page(context, f"{world.alice.url}/")
    expect(alice.locator("[data-unread]")).to_have_count(0)
    page = open_page(context, f"{world.bob.url}/posts/{question['id']}")
    page.fill("#reply-text", "read the docs")
    page.click("form[data-reply-form] button[type=submit]")
    expect(page.locator("main > article.post .reply-to")).to_be_visible()
    expect(page.locator("main > article.post .text")).to_have_text("read the docs")
    expect(page.locator("[data-ancestors] .text")).to_have_text("what now?")
    # Alice's open page shows the badge without a reload (the status refresh carries it).
    expect(alice.locator("[data-unread]")).to_have_text("1", timeout=TIMEOUT_MS)
    alice.click("[data-notifications]")
    expect(alice.locator('[data-notification="reply"]')).to_contain_text("read the docs")
    alice.goto(f"{world.alice.url}/posts/{question['id']}")
    expect(alice.locator("[data-unread]")).to_have_count(0)
    expect(alice.locator("[data-replies] article.post .text")).to_have_text("read the docs")


def test_repost_and_like_from_bobs_timeline(world: World, context: BrowserContext) -> None:
    question = world.question
    page = open_page(context, f"{world.bob.url}/")
    card(page, question["id"]).locator('[data-action="like"]').click()
    expect(card(page, question["id"]).locator('[data-action="like"]')).to_have_text("♥ Liked")
    card(page, question["id"]).locator('[data-action="repost"]').click()
    reposted = page.locator(f'[data-repost-of="{question["id"]}"]').first
    expect(reposted).to_contain_text("what now?", timeout=TIMEOUT_MS)
    alice = open_page(context, f"{world.alice.url}/posts/{question['id']}")

    def liked_once() -> bool:
        alice.reload()
        return alice.locator('[data-likes="1"]').count() > 0

    world.swarm.wait_for("alice to see bob's like", liked_once, timeout=120)

    def both_listed() -> bool:
        alice.goto(f"{world.alice.url}/notifications")
        return alice.locator('[data-notification="repost"]').count() == 1

    world.swarm.wait_for("alice to be told of the repost", both_listed, timeout=120)
    expect(alice.locator('[data-notification="like"]')).to_have_count(1)


def test_delete_hides_the_post_for_the_author_and_her_follower(
    world: World, context: BrowserContext
) -> None:
    question = world.question
    alice = open_page(context, f"{world.alice.url}/")
    card(alice, question["id"]).locator('[data-action="delete"]').click()
    expect(alice.locator(f'article[data-post-id="{question["id"]}"]')).to_have_count(0)
    bob = open_page(context, f"{world.bob.url}/")

    def hidden() -> bool:
        bob.reload()
        return bob.locator(f'[data-post-id="{question["id"]}"]').count() == 0

    world.swarm.wait_for("bob's timeline to drop the post and its repost", hidden, timeout=60)
    bob.goto(f"{world.bob.url}/posts/{question['id']}")
    expect(bob.locator("[data-deleted]").first).to_be_visible()

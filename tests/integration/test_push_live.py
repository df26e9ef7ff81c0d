"""Live push (protocol.md §11) between real node processes: posts arrive without polling.

Four followers poll the DHT only every 300 s (the default). Each new post must still be on every
follower within seconds, because the author's node pushes its new signed head to its subscribers
and the followers relay it; before the push channel existed none of these posts appeared within
20 s. Node processes on 127.0.0.210-214 with a private DHT.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.integration

POLL_INTERVAL = 300.0
VISIBLE_WITHIN = 30.0
"""Bound on each post showing on every follower: far below a poll (240-360 s). Usually well under
a second; fetching the new page torrent can take longer when a follower knows no BitTorrent peer
of the author yet (libtorrent then finds one through the DHT)."""


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSwarm]:
    root = tmp_path_factory.mktemp("push-live")
    local = LocalSwarm(root, poll_interval=POLL_INTERVAL, republish_interval=600.0, first_ip=210)
    with local.running():
        yield local


def follow_row(node: LocalNode) -> dict[str, Any]:
    rows = node.api("GET", "/api/follows")
    assert len(rows) == 1
    return dict(rows[0])


def has_post(node: LocalNode, post_id: str) -> bool:
    return node.client.get(f"/api/posts/{post_id}").status_code == 200


def test_each_new_post_reaches_four_followers_polling_every_300_s(swarm: LocalSwarm) -> None:
    creator = swarm.add("creator")
    followers = [swarm.add(f"follower-{i}") for i in range(4)]
    address = str(creator.api("GET", "/api/status")["address"])
    # An author with a history: the follow itself finds the first post through the DHT.
    first = creator.api("POST", "/api/posts", data={"text": "before anyone followed"})
    for follower in followers:
        follower.api("POST", "/api/follows", json={"author": address})
    for follower in followers:
        swarm.wait_for(
            f"{follower.name} to hold the first post and be live",
            lambda f=follower: has_post(f, first["id"]) and follow_row(f)["live"],
            timeout=120,
        )
    pushes_before = int(creator.api("GET", "/api/status")["push_own_messages"])
    for text in ("second", "third", "fourth"):
        post = creator.api("POST", "/api/posts", data={"text": text})
        for follower in followers:
            swarm.wait_for(
                f"{follower.name} to show the {text} post",
                lambda f=follower, p=post: has_post(f, p["id"]),
                timeout=VISIBLE_WITHIN,
                interval=0.05,
            )
    for follower in followers:
        row = follow_row(follower)
        assert row["live"] is True
        assert row["path_length"] in (1, 2), row
        assert row["posts"] == 4
        assert row["last_seen_seq"] == 4
        # Every new head came through the push channel, none through a poll.
        log = follower.log_text()
        for seq in (2, 3, 4):
            assert re.search(rf"head seq {seq} of [0-9a-f]+ pushed by", log), log[-3000:]
    sent = int(creator.api("GET", "/api/status")["push_own_messages"]) - pushes_before
    assert 1 <= sent <= 3 * 4  # at most one message per subscriber per post (fan-out, not N)

"""Issue 2 end to end: real node processes on 127.0.0.x with a private DHT.

One creator posts text and 8 MiB of media; three followers follow by address, verify, download
and seed it; the creator goes offline and a newcomer gets everything from the followers alone;
the creator comes back, posts again with a higher seq, and the followers get the new post.
The tests run in order and share one swarm (each step builds on the previous state).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.integration

MEDIA_SIZE = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSwarm]:
    root = tmp_path_factory.mktemp("swarm")
    local = LocalSwarm(root, poll_interval=1.0, republish_interval=20.0)
    with local.running():
        yield local


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "clip.bin"
    path.write_bytes(os.urandom(MEDIA_SIZE))
    return path


def address_of(node: LocalNode) -> str:
    return str(node.api("GET", "/api/status")["address"])


def post_with_file(node: LocalNode, text: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return dict(
            node.api(
                "POST",
                "/api/posts",
                data={"text": text},
                files=[("files", (path.name, handle, "application/octet-stream"))],
            )
        )


def has_post(node: LocalNode, post_id: str) -> dict[str, Any] | None:
    response = node.client.get(f"/api/posts/{post_id}")
    return dict(response.json()) if response.status_code == 200 else None


def media_seeding(node: LocalNode, post_id: str) -> bool:
    post = has_post(node, post_id)
    return bool(post and post["media"] and post["media"]["seeding"])


def media_bytes(node: LocalNode, post: dict[str, Any]) -> bytes:
    url = post["media"]["files"][0]["url"]
    response = node.client.get(url)
    assert response.status_code == 200
    return response.content


class State:
    creator: LocalNode
    followers: list[LocalNode]
    first_post: dict[str, Any]


def test_followers_get_verify_download_and_seed(swarm: LocalSwarm, media: Path) -> None:
    creator = swarm.add("creator")
    followers = [swarm.add(f"follower-{i}") for i in range(3)]
    created = post_with_file(creator, "first light: 8 MiB of media", media)
    assert created["seq"] == 0
    assert created["media"]["seeding"]
    address = address_of(creator)
    assert address.startswith("magnet:?xs=urn:btpk:")
    for follower in followers:
        follower.api("POST", "/api/follows", json={"author": address})
    for follower in followers:
        swarm.wait_for(
            f"{follower.name} seeds the media",
            lambda f=follower: media_seeding(f, created["id"]),
            timeout=120,
        )
        got = has_post(follower, created["id"])
        assert got is not None
        assert got["verified"] is True
        assert got["text"] == "first light: 8 MiB of media"
        assert got["author"] == created["author"]
        assert (
            hashlib.sha256(media_bytes(follower, got)).digest()
            == hashlib.sha256(media.read_bytes()).digest()
        )
        follows = follower.api("GET", "/api/follows")
        assert follows[0]["posts"] == 1
        assert follows[0]["last_seen_seq"] >= 1
    State.creator, State.followers, State.first_post = creator, followers, created


def test_newcomer_gets_everything_from_followers_alone(swarm: LocalSwarm, media: Path) -> None:
    creator = State.creator
    address = address_of(creator)
    assert creator.stop() == 0, creator.log_text()[-3000:]
    newcomer = swarm.add("newcomer")
    newcomer.api("POST", "/api/follows", json={"author": address})
    post_id = State.first_post["id"]
    swarm.wait_for(
        "newcomer seeds the media", lambda: media_seeding(newcomer, post_id), timeout=120
    )
    got = has_post(newcomer, post_id)
    assert got is not None and got["verified"]
    assert media_bytes(newcomer, got) == media.read_bytes()
    timeline = newcomer.api("GET", "/api/timeline")
    assert [p["id"] for p in timeline["posts"]] == [post_id]
    State.followers.append(newcomer)


def test_creator_restarts_and_posts_again(swarm: LocalSwarm) -> None:
    creator = State.creator
    head_before = int((creator.home / "feed" / "head_seq").read_text())
    swarm.start(creator)
    assert creator.api("GET", "/api/posts/" + State.first_post["id"])["verified"]
    second = creator.api("POST", "/api/posts", data={"text": "back online"})
    assert second["seq"] == 1
    head_after = int((creator.home / "feed" / "head_seq").read_text())
    assert head_after > head_before
    for follower in State.followers:
        swarm.wait_for(
            f"{follower.name} gets the new post",
            lambda f=follower: has_post(f, second["id"]),
            timeout=60,
        )
        follows = follower.api("GET", "/api/follows")
        assert follows[0]["last_seen_seq"] == head_after
        assert follows[0]["posts"] == 2
        ids = [p["id"] for p in follower.api("GET", "/api/timeline")["posts"]]
        assert ids == [second["id"], State.first_post["id"]]

"""Crash consistency: ``kill -9`` after every step of publish, follow, unfollow and sync.

Real node processes on loopback (127.0.0.100 and up) with a private DHT. A node started with
``SWARMFEED_FAULT_POINT=<step>`` kills itself with SIGKILL right after that step
(swarmfeed/node/faults.py): no flush, no resume data. It is then started again without the
fault, and after each crash the invariants are checked: no acknowledged post is lost, no seq is
reused (a follower that verifies every head stays synced and never refuses), every page and
bundle the feeds reference is seeded, and nothing is orphaned (no torrent, index row or
``content/`` folder that no log references).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarmfeed.localswarm import LocalNode, LocalSwarm
from swarmfeed.node.faults import FOLLOW_STEPS, PUBLISH_STEPS, SYNC_STEPS

pytestmark = pytest.mark.integration

KILLED = -9
_names = itertools.count()


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSwarm]:
    root = tmp_path_factory.mktemp("crash")
    swarm = LocalSwarm(root, poll_interval=1.0, republish_interval=60.0, first_ip=100)
    with swarm.running():
        swarm.add("anchor")  # a DHT node every later node bootstraps from
        swarm.add("reader")
        yield swarm


@pytest.fixture(scope="module")
def reader(swarm: LocalSwarm) -> LocalNode:
    """A follower that verifies every head of the authors under test."""
    return next(node for node in swarm.nodes if node.name == "reader")


@pytest.fixture(scope="module")
def authors(swarm: LocalSwarm, reader: LocalNode) -> dict[str, tuple[LocalNode, list[str]]]:
    """One author per publish step (each one crashes) and one steady author, all synced.

    They are started together and the reader follows them all at once: each case then starts
    from an author whose two posts the reader holds, without waiting for that on its own.
    """
    names = [*PUBLISH_STEPS, "steady"]
    nodes = [swarm.add(f"author-{next(_names)}", start=False) for _ in names]
    swarm.start_many(nodes)
    prepared = {
        name: (node, start_author(node, reader)) for name, node in zip(names, nodes, strict=True)
    }
    for node, _ in prepared.values():
        assert_reader_agrees(swarm, reader, node)
    return prepared


@pytest.fixture(scope="module")
def steady(authors: dict[str, tuple[LocalNode, list[str]]]) -> LocalNode:
    """An author that never crashes, followed by the followers that do."""
    return authors["steady"][0]


def post(node: LocalNode, text: str, media: bytes | None = None) -> dict[str, Any]:
    files = {"files": ("clip.bin", media, "application/octet-stream")} if media else None
    result: dict[str, Any] = node.api("POST", "/api/posts", data={"text": text}, files=files)
    return result


def address(node: LocalNode) -> str:
    return str(node.api("GET", "/api/status")["address"])


def author_key(node: LocalNode) -> str:
    return str(node.api("GET", "/api/status")["author"])


def posts_of(node: LocalNode, author: str) -> list[dict[str, Any]]:
    body = node.api("GET", f"/api/authors/{author}/posts", params={"limit": 200})
    posts: list[dict[str, Any]] = body["posts"]
    return posts


def head_seq(node: LocalNode) -> int:
    return int((node.home / "feed" / "head_seq").read_text())


def crash_at(swarm: LocalSwarm, node: LocalNode, step: str) -> None:
    """Restart ``node`` so that it kills itself after ``step``."""
    node.stop()
    node.env = {"SWARMFEED_FAULT_POINT": step}
    swarm.start(node)


def restart_clean(swarm: LocalSwarm, node: LocalNode) -> None:
    """Wait for the self-inflicted SIGKILL, then start ``node`` again without a fault."""
    assert node.wait_exit() == KILLED, node.log_text()[-3000:]
    assert "fault injection: killing the process" in node.log_text()
    node.env = {}
    swarm.start(node)


def assert_whole(node: LocalNode) -> None:
    """Every referenced page and bundle is seeded; no torrent or folder is unreferenced."""
    torrents = node.api("GET", "/api/torrents")
    held = {t["infohash"]: t for t in torrents}
    assert all(t["kind"] in ("page", "media") for t in torrents), torrents
    folders = {p.name for p in (node.home / "content").iterdir()}
    assert folders == set(held), (folders ^ set(held), torrents)
    own = author_key(node)
    for item in posts_of(node, own):
        if item["media"]:
            assert item["media"]["infohash"] in held
    head = (node.home / "feed" / "head.bencode").read_bytes()
    pages = [t for t in torrents if t["kind"] == "page" and t["author"] == own]
    assert pages, "the author seeds no page"
    assert any(bytes.fromhex(t["infohash"]) in head for t in pages), "head page not seeded"
    assert all(t["seeding"] for t in pages)


def assert_reader_agrees(swarm: LocalSwarm, reader: LocalNode, author: LocalNode) -> None:
    """The reader holds exactly the author's posts and never refused a head."""
    key = author_key(author)
    expected = {p["id"] for p in posts_of(author, key)}

    def caught_up() -> bool:
        row = next(r for r in reader.api("GET", "/api/follows") if r["author"] == key)
        assert row["state"] != "refused", row
        return {p["id"] for p in posts_of(reader, key)} == expected and row["state"] == "synced"

    swarm.wait_for("the reader to hold the author's posts", caught_up, timeout=90)


def start_author(author: LocalNode, reader: LocalNode) -> list[str]:
    """Post twice as ``author`` and have ``reader`` follow it; return the posts' ids."""
    acked = [post(author, "zero")["id"], post(author, "one", b"media one" * 500)["id"]]
    reader.api("POST", "/api/follows", json={"author": address(author)})
    return acked


def add_crashing(swarm: LocalSwarm, step: str) -> LocalNode:
    """Start a new follower that kills itself after ``step``."""
    node = swarm.add(f"follower-{next(_names)}", start=False)
    node.env = {"SWARMFEED_FAULT_POINT": step}
    swarm.start(node)
    return node


@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_a_crash_while_publishing_loses_no_post_and_reuses_no_seq(
    swarm: LocalSwarm,
    reader: LocalNode,
    authors: dict[str, tuple[LocalNode, list[str]]],
    step: str,
) -> None:
    author, acked = authors[step]
    seq_before = head_seq(author)
    crash_at(swarm, author, step)
    with pytest.raises(httpx.TransportError):
        post(author, "cut short", b"media two" * 500)
    restart_clean(swarm, author)

    key = author_key(author)
    shown = posts_of(author, key)
    ids = {p["id"] for p in shown}
    assert set(acked) <= ids
    written_ahead = PUBLISH_STEPS.index(step) >= PUBLISH_STEPS.index("publish:post-written")
    # A post whose signature was written ahead is published when the node starts again.
    assert ("cut short" in {p["text"] for p in shown}) == written_ahead
    after = post(author, "after the crash", b"media three" * 500)
    assert after["seq"] == (3 if written_ahead else 2)
    assert head_seq(author) > seq_before
    assert [p["seq"] for p in posts_of(author, key)] == list(range(after["seq"], -1, -1))
    assert_whole(author)
    assert_reader_agrees(swarm, reader, author)


@pytest.mark.parametrize("step", FOLLOW_STEPS)
def test_a_crash_while_following_or_unfollowing_leaves_a_whole_state(
    swarm: LocalSwarm, steady: LocalNode, step: str
) -> None:
    author = steady
    key = author_key(author)
    following = step.startswith("follow:")
    if following:
        follower = add_crashing(swarm, step)
    else:
        follower = swarm.add(f"follower-{next(_names)}")
        follower.api("POST", "/api/follows", json={"author": address(author)})
        assert_reader_agrees(swarm, follower, author)
        crash_at(swarm, follower, step)
    method, path = ("POST", "/api/follows") if following else ("DELETE", f"/api/follows/{key}")
    with pytest.raises(httpx.TransportError):
        follower.api(method, path, json={"author": address(author)} if following else None)
    restart_clean(swarm, follower)
    if following:
        # The follow was recorded before the crash: it holds and completes after the restart.
        assert_reader_agrees(swarm, follower, author)
        swarm.wait_for("the media to be seeded", lambda: _all_seeding(follower), timeout=60)
    else:
        follows = follower.api("GET", "/api/follows")
        assert key not in {row["author"] for row in follows}
        assert posts_of(follower, key) == []
        assert follower.api("GET", "/api/torrents") == []
        assert list((follower.home / "content").iterdir()) == []
    follower.stop()


@pytest.mark.parametrize("step", SYNC_STEPS)
def test_a_crash_while_syncing_resumes_to_a_whole_copy(
    swarm: LocalSwarm, steady: LocalNode, step: str
) -> None:
    author = steady
    follower = add_crashing(swarm, step)
    follower.api("POST", "/api/follows", json={"author": address(author)})
    restart_clean(swarm, follower)
    assert_reader_agrees(swarm, follower, author)
    swarm.wait_for("the media to be seeded", lambda: _all_seeding(follower), timeout=60)
    held = {t["infohash"] for t in follower.api("GET", "/api/torrents")}
    assert {p.name for p in Path(follower.home / "content").iterdir()} == held
    follower.stop()


def _all_seeding(node: LocalNode) -> bool:
    torrents = node.api("GET", "/api/torrents")
    return bool(torrents) and all(t["seeding"] for t in torrents)

"""Budgets applied to the media queue and the index (node/storage.py, node/mediaqueue.offer).

The engine and the torrent shelf are stand-ins that record what would be removed: what is
checked here is which bundles the node queues, skips and evicts, and that the index agrees.
tests/integration/test_operators.py runs the same against real nodes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from swarmfeed.core.budget import FetchBudget
from swarmfeed.core.followfile import FollowKind
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MediaFile, MediaRef, Post, SignedPost, sign_post
from swarmfeed.node.counters import Counters
from swarmfeed.node.faults import Faults
from swarmfeed.node.mediaqueue import MediaQueue
from swarmfeed.node.storage import StorageKeeper
from swarmfeed.store.database import Database, MediaState

NOW = int(time.time())
KiB = 1024


class Engine:
    def has(self, infohash: str) -> bool:
        return False


class Shelf:
    def __init__(self) -> None:
        self.discarded: list[str] = []

    def discard(self, infohash: str) -> None:
        self.discarded.append(infohash)


def media_posts(keys: KeyPair, count: int, size: int = KiB, first: int = 0) -> list[SignedPost]:
    base = NOW - 86400
    return [
        sign_post(
            Post(
                keys.public_key,
                seq,
                base + seq,
                f"post {seq}",
                MediaRef(
                    os.urandom(20),
                    os.urandom(32),
                    f"post-{seq}",
                    (MediaFile("clip.bin", size, "application/octet-stream"),),
                ),
            ),
            keys,
        )
        for seq in range(first, first + count)
    ]


class World:
    def __init__(self, tmp: Path, budget: FetchBudget) -> None:
        self.db = Database(tmp / "x.db")
        self.shelf = Shelf()
        engine: Any = Engine()
        shelf: Any = self.shelf
        unused: Any = None  # the queue's layout and supervisor: offer() needs neither
        self.storage = StorageKeeper("own", self.db, engine, shelf, budget, lambda: NOW, Faults())
        self.queue = MediaQueue(
            self.db,
            engine,
            unused,
            budget,
            lambda: NOW,
            unused,
            lambda a: [],
            self.storage,
            Counters(),
        )

    def states(self, posts: list[SignedPost]) -> list[str]:
        rows = [self.db.media.get(p.post.media.infohash.hex()) for p in posts if p.post.media]
        return [row.state.value if row else "none" for row in rows]

    def complete(self, posts: list[SignedPost]) -> None:
        for p in posts:
            assert p.post.media
            self.db.media.set_state(p.post.media.infohash.hex(), MediaState.COMPLETE, NOW)


@pytest.fixture
def keys() -> KeyPair:
    return KeyPair.generate()


def test_a_back_catalogue_keeps_the_newest_within_the_author_budget(
    tmp_path: Path, keys: KeyPair
) -> None:
    world = World(tmp_path, FetchBudget(author_bytes=4 * KiB))
    author = keys.public_key.hex()
    world.db.follows.add(author, 0)
    posts = media_posts(keys, 200)
    for first in (192, 128, 64, 0):  # pages arrive newest first
        world.queue.offer(author, posts[first : first + 64], NOW)
    states = world.states(posts)
    assert states[196:] == ["queued"] * 4
    assert set(states[:196]) == {"skipped"}
    assert world.db.media.used_bytes(author) == 4 * KiB


def test_a_new_post_evicts_the_oldest_held_media(tmp_path: Path, keys: KeyPair) -> None:
    world = World(tmp_path, FetchBudget(author_bytes=3 * KiB))
    author = keys.public_key.hex()
    world.db.follows.add(author, 0)
    posts = media_posts(keys, 5)
    world.queue.offer(author, posts[:3], NOW)
    world.complete(posts[:3])
    world.queue.offer(author, posts[3:], NOW)
    assert world.states(posts) == ["evicted", "evicted", "complete", "queued", "queued"]
    evicted = [p.post.media.infohash.hex() for p in posts[:2] if p.post.media]
    assert world.shelf.discarded == evicted
    assert world.storage.evictions == 2
    assert world.storage.report().evicted == 2


def test_opened_media_outlives_newer_unopened_media(tmp_path: Path, keys: KeyPair) -> None:
    world = World(tmp_path, FetchBudget(author_bytes=2 * KiB))
    author = keys.public_key.hex()
    world.db.follows.add(author, 0)
    posts = media_posts(keys, 3)
    world.queue.offer(author, posts[:2], NOW)
    world.complete(posts[:2])
    assert posts[0].post.media
    world.queue.request(posts[0].post.media.infohash.hex())  # a person opens the oldest
    world.db.media.set_state(posts[0].post.media.infohash.hex(), MediaState.COMPLETE, NOW)
    world.queue.offer(author, posts[2:], NOW)
    assert world.states(posts) == ["complete", "evicted", "queued"]


def test_the_total_budget_never_evicts_own_or_mirrored_media(tmp_path: Path) -> None:
    world = World(tmp_path, FetchBudget(author_bytes=100 * KiB, total_bytes=4 * KiB))
    followed, mirrored = KeyPair.generate(), KeyPair.generate()
    world.db.follows.add(followed.public_key.hex(), 0)
    world.db.follows.add(mirrored.public_key.hex(), 0, FollowKind.MIRROR.value)
    plain = media_posts(followed, 3)
    world.queue.offer(followed.public_key.hex(), plain, NOW)
    world.complete(plain)
    whole = media_posts(mirrored, 3, size=2 * KiB)
    world.queue.offer(mirrored.public_key.hex(), whole, NOW)
    assert world.states(whole) == ["queued"] * 3  # no per-post cap, no budget for a mirror
    assert world.states(plain) == ["evicted"] * 3  # room made where it could be
    report = world.storage.report()
    kinds = {usage.author: usage for usage in report.authors}
    assert kinds[mirrored.public_key.hex()].kind == "mirror"
    assert kinds[mirrored.public_key.hex()].budget is None
    assert report.used_bytes == 6 * KiB  # over: the mirror alone exceeds the budget


def test_a_lowered_budget_is_enforced_and_a_new_mirror_reopens_its_media(
    tmp_path: Path, keys: KeyPair
) -> None:
    world = World(tmp_path, FetchBudget(author_bytes=2 * KiB))
    author = keys.public_key.hex()
    world.db.follows.add(author, 0)
    posts = media_posts(keys, 4)
    world.queue.offer(author, posts, NOW)
    world.complete(posts[2:])
    assert world.states(posts) == ["skipped", "skipped", "complete", "complete"]
    world.storage.budget = FetchBudget(author_bytes=1 * KiB)
    assert world.storage.enforce() == KiB
    assert world.states(posts) == ["skipped", "skipped", "evicted", "complete"]
    world.db.follows.add(author, 0, FollowKind.MIRROR.value)
    world.queue.kind_changed(author, FollowKind.MIRROR)
    assert world.states(posts) == ["queued", "queued", "queued", "complete"]

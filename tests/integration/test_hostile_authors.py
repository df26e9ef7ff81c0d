"""A hostile followed author cannot break a follower: one test per attack.

In-process nodes with real libtorrent sessions and the real BEP 44 client on 127.0.0.40-42. An
attacker (its own Engine and DhtClient, no Node) publishes crafted heads, pages and torrents;
the follower must refuse each one with its reason, log it, keep running, keep everything it had
and keep nothing of what it refused (a refused page is not seeded to anyone).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nodekit import Attacker, make_node, raw_page, signed_raw_post

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item, signable_bytes
from swarmfeed.core.budget import FetchBudget
from swarmfeed.core.feed import PAGE_CAPACITY, FeedPage, HeadPointer, encode_head_value
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MediaFile, MediaRef, Post, SignedPost, sign_post
from swarmfeed.core.sync import WalkLimits
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig, MetadataRefused
from swarmfeed.errors import RolledBack, TooLarge
from swarmfeed.localswarm import free_port
from swarmfeed.node.node import Node
from swarmfeed.store.database import MediaState

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

CREATED = 1_700_000_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class World:
    """An honest author, a follower of it, and an attacker on a private DHT."""

    author: Node
    follower: Node
    attacker: Attacker
    kept: set[str]

    def nothing_lost(self) -> None:
        """The follower still holds the honest author's posts and answers."""
        assert {p.id for p in self.follower.author_posts(self.author.author)} == self.kept
        assert self.follower.status().author == self.follower.author

    async def sync(self, keys: KeyPair) -> str:
        """Follow ``keys`` and run one sync; return "state: error"."""
        author = keys.public_key.hex()
        self.follower.follower.follow(author)
        await self.follower.follower.sync(author)
        row = self.follower.db.follows.row(author)
        assert row is not None
        return f"{row.state}: {row.last_error}"

    def holds_nothing_of(self, keys: KeyPair) -> None:
        """The follower stores, seeds and keeps on disk nothing of ``keys``."""
        author = keys.public_key.hex()
        assert self.follower.author_posts(author) == []
        torrents = self.follower.db.torrents.rows(author)
        assert torrents == [], torrents
        held = {row.infohash for row in self.follower.db.torrents.rows()}
        assert set(self.follower.engine.infohashes()) == held


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    author = make_node(tmp_path, "author", "127.0.0.40", [])
    follower = make_node(tmp_path, "follower", "127.0.0.41", [author.settings.listen])
    ip = "127.0.0.42"
    seeds = [author.settings.listen_endpoint, follower.settings.listen_endpoint]
    engine = Engine(
        EngineConfig(
            listen_interface=f"{ip}:{free_port(ip)}",
            bootstrap_nodes=tuple(seeds),
            public_dht=False,
            local_only=True,
        ),
        tmp_path / "attacker-engine",
    )
    attacker = Attacker(engine, DhtClient(ip, lambda: seeds), tmp_path / "attacker")
    await author.start()
    await follower.start()
    await engine.start()
    await attacker.dht.start()
    try:
        first = await author.create_post("honest post")
        second = await author.create_post("second honest post")
        await author.publisher.wait_published()
        world = World(author, follower, attacker, {first.id, second.id})
        state = await world.sync(author.keys)
        assert state.startswith("synced"), state
        yield world
    finally:
        await attacker.dht.close()
        await engine.stop()
        await follower.stop()
        await author.stop()


def post(keys: KeyPair, seq: int, text: str = "post", media: MediaRef | None = None) -> SignedPost:
    # Version 1 posts: their pages are version 1 (no prevh), as the hand-made chains here build.
    return sign_post(Post(keys.public_key, seq, CREATED, text, media, version=1), keys)


def page_of(
    keys: KeyPair, posts: list[SignedPost], index: int = 0, prev: bytes | None = None
) -> FeedPage:
    return FeedPage(
        keys.public_key, index, index * PAGE_CAPACITY, PAGE_CAPACITY, prev, tuple(posts)
    )


# --- heads ---------------------------------------------------------------------------------


async def test_a_rolled_back_head_is_refused(world: World) -> None:
    old = world.author.publisher.own_head()
    assert old is not None
    await world.author.create_post("third honest post")
    await world.author.publisher.wait_published()
    await world.follower.follower.sync(world.author.author)
    world.kept = {p.id for p in world.author.author_posts(world.author.author)}
    with pytest.raises(RolledBack, match="rolled back"):
        await world.follower.feeds.accept_head(world.author.author, old)
    world.nothing_lost()


async def test_an_equivocating_head_is_refused(world: World) -> None:
    current = world.author.publisher.own_head()
    assert current is not None
    forked = sign_item(
        world.author.keys.seed, encode_head_value(HeadPointer(b"\x01" * 20, 2)), current.seq
    )
    with pytest.raises(RolledBack, match="equivocating"):
        await world.follower.feeds.accept_head(world.author.author, forked)
    world.nothing_lost()


async def test_an_oversized_head_value_is_refused(world: World) -> None:
    keys = world.author.keys
    value = bencoding.encode({"ih": b"\x02" * 20, "n": 1, "pad": b"x" * 1200})
    seq = 99
    big = MutableItem(keys.public_key, seq, value, keys.sign(signable_bytes(seq, value)))
    with pytest.raises(TooLarge):
        await world.follower.feeds.accept_head(world.author.author, big)
    world.nothing_lost()


@pytest.mark.parametrize(("count", "reason"), [(0, "empty feed"), (10**12, "at most")])
async def test_a_head_claiming_an_impossible_count_is_refused_before_fetching(
    world: World, count: int, reason: str
) -> None:
    mallory = KeyPair.generate()
    await world.attacker.publish_page(mallory, page_of(mallory, [post(mallory, 0)]), count)
    state = await world.sync(mallory)
    assert state.startswith("refused") and reason in state, state
    world.holds_nothing_of(mallory)
    world.nothing_lost()


async def test_a_newest_page_that_lies_about_n_is_refused_and_not_seeded(world: World) -> None:
    mallory = KeyPair.generate()
    await world.attacker.publish_page(mallory, page_of(mallory, [post(mallory, 0)]), 5)
    state = await world.sync(mallory)
    assert state.startswith("refused") and "5 posts" in state, state
    world.holds_nothing_of(mallory)
    prefix = f"swarmfeed-{mallory.public_key.hex()[:16]}-page-"
    assert not [p for p in world.follower.layout.content.glob("*/*") if p.name.startswith(prefix)]
    world.nothing_lost()


async def test_a_rewritten_log_is_refused(world: World) -> None:
    mallory = KeyPair.generate()
    await world.attacker.publish_page(mallory, page_of(mallory, [post(mallory, 0, "original")]))
    assert (await world.sync(mallory)).startswith("synced")
    rewritten = page_of(mallory, [post(mallory, 0, "rewritten"), post(mallory, 1)])
    await world.attacker.publish_page(mallory, rewritten, seq=2)
    state = await world.sync(mallory)
    assert state.startswith("refused") and "rewritten" in state, state
    texts = [p.signed.post.text for p in world.follower.author_posts(mallory.public_key.hex())]
    assert "original" in texts and "rewritten" not in texts
    world.nothing_lost()


# --- posts and pages -------------------------------------------------------------------------


@pytest.mark.parametrize("created", [-1, 2**62, 2**63 - 1])
async def test_a_post_with_a_hostile_created_is_refused(world: World, created: int) -> None:
    mallory = KeyPair.generate()
    fields = {
        "version": 1,
        "author": mallory.public_key,
        "seq": 0,
        "created": created,
        "kind": "post",
        "text": "from the far future",
    }
    await world.attacker.publish_raw_page(
        mallory, 0, raw_page(mallory, [signed_raw_post(mallory, fields)]), 1
    )
    state = await world.sync(mallory)
    assert state.startswith("refused") and "created" in state, state
    world.holds_nothing_of(mallory)
    world.nothing_lost()


async def test_an_integer_beyond_64_bits_is_refused(world: World) -> None:
    mallory = KeyPair.generate()
    page = raw_page(mallory, [])
    huge = page.replace(b"5:firsti0e", b"5:firsti18446744073709551616e")
    await world.attacker.publish_raw_page(mallory, 0, huge, 1)
    state = await world.sync(mallory)
    assert state.startswith("refused") and "64-bit" in state, state
    world.holds_nothing_of(mallory)
    world.nothing_lost()


async def test_a_forged_post_is_refused(world: World) -> None:
    mallory = KeyPair.generate()
    honest = post(mallory, 0, "I pay you")
    forged = SignedPost(Post(mallory.public_key, 0, CREATED, "I pay me"), honest.signature)
    await world.attacker.publish_page(mallory, page_of(mallory, [forged]))
    state = await world.sync(mallory)
    assert state.startswith("refused") and "signature" in state, state
    world.holds_nothing_of(mallory)
    world.nothing_lost()


async def test_a_post_of_another_author_is_refused(world: World) -> None:
    trent, eve = KeyPair.generate(), KeyPair.generate()
    stolen = post(trent, 0, "not eve's")
    await world.attacker.publish_page(eve, page_of(eve, [stolen]))
    state = await world.sync(eve)
    assert state.startswith("refused") and "author" in state, state
    world.holds_nothing_of(eve)
    world.nothing_lost()


async def test_malformed_bencode_is_refused(world: World) -> None:
    oscar = KeyPair.generate()
    await world.attacker.publish_raw_page(oscar, 0, b"d7:versioni01ee", 1)
    state = await world.sync(oscar)
    assert state.startswith("refused"), state
    world.holds_nothing_of(oscar)
    world.nothing_lost()


async def test_a_post_whose_media_path_escapes_is_refused(world: World) -> None:
    peggy = KeyPair.generate()
    escaping = signed_raw_post(
        peggy,
        {
            "version": 1,
            "author": peggy.public_key,
            "seq": 0,
            "created": CREATED,
            "kind": "post",
            "text": "look",
            "media": {
                "ih": b"\x03" * 20,
                "ih2": b"\x04" * 32,
                "name": "post-0",
                "files": [{"path": "../../evil.sh", "size": 10, "mime": "text/plain"}],
            },
        },
    )
    await world.attacker.publish_raw_page(peggy, 0, raw_page(peggy, [escaping]), 1)
    state = await world.sync(peggy)
    assert state.startswith("refused") and "path" in state, state
    world.holds_nothing_of(peggy)
    world.nothing_lost()


async def test_media_whose_info_dict_escapes_is_refused_before_any_piece(world: World) -> None:
    victor = KeyPair.generate()
    content = b"#!/bin/sh\necho pwned\n"
    info = {
        "name": "post-0",
        "piece length": 16384,
        "pieces": hashlib.sha1(content).digest(),
        "files": [{"length": len(content), "path": ["..", "..", "evil.sh"]}],
    }
    media_ih = await world.attacker.seed_raw_torrent(info)
    refused = asyncio.Event()
    world.follower.engine.subscribe(
        lambda event: (
            refused.set()
            if isinstance(event, MetadataRefused) and event.infohash == media_ih.hex()
            else None
        )
    )
    # The author signs the real hashes of the hostile info dict (v1: SHA-1, v2: SHA-256 of it).
    ref = MediaRef(
        media_ih,
        hashlib.sha256(bencoding.encode(info)).digest(),
        "post-0",
        (MediaFile("evil.sh", len(content), "text/x-sh"),),
    )
    await world.attacker.publish_page(victor, page_of(victor, [post(victor, 0, "a script", ref)]))
    state = await world.sync(victor)
    assert state.startswith("synced"), state
    await asyncio.wait_for(refused.wait(), timeout=60)
    assert not world.follower.engine.has(media_ih.hex())
    row = world.follower.db.media.get(media_ih.hex())
    assert row is not None and row.state is MediaState.REFUSED
    home = world.follower.layout.home
    assert [p for p in home.parent.rglob("evil.sh") if "attacker" not in str(p)] == []
    world.nothing_lost()


# --- volume ----------------------------------------------------------------------------------


async def test_a_long_chain_is_fetched_in_bounded_runs(world: World) -> None:
    mallory = KeyPair.generate()
    world.follower.feeds.limits = WalkLimits(pages_per_run=2)
    prev: bytes | None = None
    head_page: FeedPage | None = None
    for index in range(4):
        posts = [post(mallory, s) for s in range(index * 64, index * 64 + (64 if index < 3 else 3))]
        head_page = page_of(mallory, posts, index, prev)
        prev = await world.attacker.seed_file(head_page.file_name, head_page.encode())
    assert head_page is not None and prev is not None
    await world.attacker.publish_head(mallory, prev, 3 * 64 + 3)
    state = await world.sync(mallory)
    assert state.startswith("catching up"), state
    author = mallory.public_key.hex()
    assert world.follower.db.posts.count(author) == 64 + 3  # the two newest pages
    while not state.startswith("synced"):
        await world.follower.follower.sync(author)
        row = world.follower.db.follows.row(author)
        assert row is not None
        state = row.state
    assert world.follower.db.posts.count(author) == 3 * 64 + 3
    world.nothing_lost()


async def test_a_feed_over_the_post_limit_is_refused(world: World) -> None:
    mallory = KeyPair.generate()
    world.follower.feeds.limits = WalkLimits(max_posts=2)
    posts = [post(mallory, s) for s in range(3)]
    await world.attacker.publish_page(mallory, page_of(mallory, posts))
    state = await world.sync(mallory)
    assert state.startswith("refused") and "at most 2 posts" in state, state
    world.holds_nothing_of(mallory)
    world.nothing_lost()


def fake_media(tag: int, size: int) -> MediaRef:
    return MediaRef(
        bytes([tag]) * 20, bytes([tag]) * 32, "post", (MediaFile("big.bin", size, "video/mp4"),)
    )


async def test_huge_media_is_not_fetched_until_opened(world: World) -> None:
    mallory = KeyPair.generate()
    big = fake_media(7, 300 * 1024 * 1024)
    await world.attacker.publish_page(mallory, page_of(mallory, [post(mallory, 0, "big", big)]))
    state = await world.sync(mallory)
    assert state.startswith("synced"), state
    row = world.follower.db.media.get(big.infohash.hex())
    assert row is not None and row.state is MediaState.SKIPPED
    assert row.reason is not None and "automatic fetch limit" in row.reason
    assert not world.follower.engine.has(big.infohash.hex())
    world.nothing_lost()


async def test_an_author_cannot_exceed_its_fetch_budget(world: World) -> None:
    mallory = KeyPair.generate()
    world.follower.media.budget = FetchBudget(max_post_bytes=1000, author_bytes=2500)
    posts = [post(mallory, s, f"clip {s}", fake_media(10 + s, 1000)) for s in range(4)]
    await world.attacker.publish_page(mallory, page_of(mallory, posts))
    state = await world.sync(mallory)
    assert state.startswith("synced"), state
    states = [
        world.follower.db.media.get(p.post.media.infohash.hex()) for p in posts if p.post.media
    ]
    skipped = [row for row in states if row is not None and row.state is MediaState.SKIPPED]
    assert len(skipped) == 2
    assert world.follower.db.media.used_bytes(mallory.public_key.hex()) <= 2500
    world.nothing_lost()


async def test_every_refusal_is_logged_with_its_reason(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    mallory = KeyPair.generate()
    honest = post(mallory, 0, "x")
    forged = SignedPost(Post(mallory.public_key, 0, CREATED, "y"), honest.signature)
    await world.attacker.publish_page(mallory, page_of(mallory, [forged]))
    await world.sync(mallory)
    assert "refused data of" in caplog.text and "signature" in caplog.text


# --- unfollowing -----------------------------------------------------------------------------


async def test_unfollow_during_a_sync_leaves_nothing_behind(world: World) -> None:
    mallory = KeyPair.generate()
    author = mallory.public_key.hex()
    # The head names a page nobody seeds: the sync waits for its metadata when we unfollow.
    await world.attacker.publish_head(mallory, b"\x09" * 20, 1)
    world.follower.follower.follow(author)
    waiting = asyncio.Event()

    async def sync_until_fetching() -> None:
        task = asyncio.create_task(world.follower.follower.sync(author))
        while not world.follower.engine.has("09" * 20):
            await asyncio.sleep(0.05)  # the engine signals no "added" event to await
        waiting.set()
        await task

    syncing = asyncio.create_task(sync_until_fetching())
    await asyncio.wait_for(waiting.wait(), 30)
    await world.follower.unfollow(mallory.public_key)
    syncing.cancel()
    await asyncio.gather(syncing, return_exceptions=True)
    world.holds_nothing_of(mallory)
    assert not world.follower.engine.has("09" * 20)
    assert not world.follower.layout.save_path("09" * 20).exists()
    assert author not in world.follower.follower.follow_list.authors()
    world.nothing_lost()


async def test_unfollow_forgets_the_authors_posts_and_files(world: World) -> None:
    await world.follower.unfollow(world.author.keys.public_key)
    author = world.author.author
    assert world.follower.author_posts(author) == []
    assert world.follower.db.torrents.rows(author) == []
    assert world.follower.db.feeds.head(author) is None
    assert not world.follower.layout.head_file(author).exists()
    assert list(world.follower.layout.content.iterdir()) == []

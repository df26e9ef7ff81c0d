"""A new follower catches up on an author's back catalogue of media posts, all of it.

In-process: a follower node and a seeder (a bare engine and BEP 44 client serving a feed made
by swarmfeed.feedgen) on 127.0.0.50-51 with a private DHT. The catalogue is fetched newest
first a few bundles at a time, and a fresh post jumps the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nodekit import make_node

from swarmfeed.core.budget import FetchBudget
from swarmfeed.core.rendezvous import peers_key
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.feedgen import GeneratedFeed, generate_feed, keys_for, publish_post
from swarmfeed.localswarm import free_port
from swarmfeed.node.events import MediaComplete
from swarmfeed.node.node import Node
from swarmfeed.store.database import MediaState

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

POSTS = 200
MEDIA = 2048
CREATED = 1_700_000_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Seeder:
    """Seeds generated feeds from one engine and puts their heads."""

    engine: Engine
    dht: DhtClient
    root: Path

    async def serve(self, feed: GeneratedFeed) -> None:
        for torrent in feed.torrents():
            # The seeder plays the author's node: its torrents are its own (authored), so the
            # engine announces a fresh one until somebody connects, as it does for a node's own.
            await self.engine.add_torrent(
                torrent.torrent,
                self.root / "content" / torrent.infohash.hex(),
                seed_mode=True,
                authored=True,
            )
        self.engine.announce_rendezvous(peers_key(feed.keys.public_key))
        assert (await self.dht.put_mutable(feed.head)).stored > 0


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Node, Seeder]]:
    ip = "127.0.0.50"
    engine = Engine(
        EngineConfig(listen_interface=f"{ip}:{free_port(ip)}", public_dht=False, local_only=True),
        tmp_path / "seeder-engine",
    )
    await engine.start()
    seeds = [("127.0.0.50", int(engine.session_status().listen_port))]
    follower = make_node(tmp_path, "follower", "127.0.0.51", [f"{h}:{p}" for h, p in seeds])
    dht = DhtClient(ip, lambda: [*seeds, follower.settings.listen_endpoint])
    await dht.start()
    await follower.start()
    try:
        yield follower, Seeder(engine, dht, tmp_path / "seeder")
    finally:
        await follower.stop()
        await dht.close()
        await engine.stop()


async def test_a_new_follower_gets_every_post_and_bundle_fresh_first(
    world: tuple[Node, Seeder],
) -> None:
    follower, seeder = world
    keys = keys_for(1, b"catch-up")
    feed = await asyncio.to_thread(generate_feed, seeder.root, keys, POSTS, MEDIA, CREATED)
    await seeder.serve(feed)
    # Few slots for the back catalogue, so the fresh post below meets a full queue.
    follower.media.budget = FetchBudget(active=4, urgent_extra=2, small_active=4)
    completed: list[str] = []
    events = follower.events.subscribe()
    follower.follow(keys.public_key)
    author = keys.public_key.hex()

    async def until(count: int) -> None:
        while len(completed) < count:
            event = await events.get()
            if isinstance(event, MediaComplete):
                completed.append(event.infohash)

    await asyncio.wait_for(until(10), 120)
    fresh = await asyncio.to_thread(
        publish_post, seeder.root, feed, keys, "fresh", int(follower.clock()), MEDIA
    )
    await seeder.serve(fresh)
    follower.follower.offer_head(author, fresh.head)
    fresh_media = fresh.media[-1].infohash.hex()
    await asyncio.wait_for(until(POSTS + 1), 600)
    assert follower.db.posts.count(author) == POSTS + 1
    # The fresh post's bundle finished while most of the catalogue still waited.
    assert completed.index(fresh_media) < POSTS // 2, completed.index(fresh_media)
    # Newest first: the first bundles done belong to the newest posts.
    newest = {t.infohash.hex() for t in feed.media[-20:]}
    assert len(newest & set(completed[:10])) >= 8
    rows = [follower.db.media.get(t.infohash.hex()) for t in fresh.media]
    assert all(row is not None and row.state is MediaState.COMPLETE for row in rows)
    assert len(follower.engine.infohashes()) == POSTS + 1 + len(fresh.pages)
    # Held, the back catalogue makes no DHT traffic of its own (its peers come through the
    # author's rendezvous, BEP 5 announces are for fresh posts), however it was found.
    in_dht = [t for t in feed.media if follower.engine.status(t.infohash.hex()).dht]
    assert not in_dht, f"{len(in_dht)} back-catalogue bundles still in the DHT"

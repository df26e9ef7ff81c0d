"""Version 2 nodes read version 1 feeds, and keep posts of kinds they do not know.

In-process follower with real libtorrent sessions on 127.0.5.40-41 and a publisher without a
node (its own Engine and DhtClient) that seeds hand-made pages: a version 1 feed exactly as
version 1 nodes publish it, and a version 2 page holding a post of a kind no swarmfeed knows and
one whose ``crit`` names a key this reader does not understand, between ordinary posts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nodekit import Attacker, make_node, signed_raw_post

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import Post, sign_post
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.localswarm import free_port
from swarmfeed.node.node import Node
from swarmfeed.node.views import post_view

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

CREATED = 1_700_000_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class World:
    follower: Node
    publisher: Attacker

    async def follow(self, keys: KeyPair) -> str:
        author = keys.public_key.hex()
        self.follower.follower.follow(author)
        await self.follower.follower.sync(author)
        row = self.follower.db.follows.row(author)
        assert row is not None
        return f"{row.state}: {row.last_error}"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    follower = make_node(tmp_path, "follower", "127.0.5.40", [])
    ip = "127.0.5.41"
    seeds = [follower.settings.listen_endpoint]
    engine = Engine(
        EngineConfig(
            listen_interface=f"{ip}:{free_port(ip)}",
            bootstrap_nodes=tuple(seeds),
            public_dht=False,
            local_only=True,
        ),
        tmp_path / "publisher-engine",
    )
    publisher = Attacker(engine, DhtClient(ip, lambda: seeds), tmp_path / "publisher")
    await follower.start()
    await engine.start()
    await publisher.dht.start()
    try:
        yield World(follower, publisher)
    finally:
        await publisher.dht.close()
        await engine.stop()
        await follower.stop()


def _page(keys: KeyPair, version: int, posts: list[object]) -> bytes:
    return bencoding.encode(
        {
            "version": version,
            "author": keys.public_key,
            "index": 0,
            "first": 0,
            "capacity": 64,
            "posts": posts,
        }
    )


async def test_a_version_1_feed_is_read_as_before(world: World) -> None:
    keys = KeyPair.generate()
    posts = [
        sign_post(Post(keys.public_key, seq, CREATED + seq, f"v1 post {seq}", version=1), keys)
        for seq in range(3)
    ]
    page = _page(keys, 1, [bencoding.decode(p.encode()) for p in posts])
    await world.publisher.publish_raw_page(keys, 0, page, 3)
    state = await world.follow(keys)
    assert state.startswith("synced"), state
    held = world.follower.author_posts(keys.public_key.hex())
    assert {s.signed.id for s in held} == {p.id for p in posts}
    for stored in held:
        shown = post_view(world.follower, stored)
        assert shown.kind == "post" and shown.verified and shown.unsupported is None


async def test_a_page_with_an_unknown_kind_is_kept_and_that_post_shown_as_unsupported(
    world: World,
) -> None:
    keys = KeyPair.generate()
    author = keys.public_key
    first = sign_post(Post(author, 0, CREATED, "before the poll"), keys)
    poll = signed_raw_post(
        keys,
        {
            "version": 2,
            "author": author,
            "seq": 1,
            "created": CREATED + 1,
            "kind": "poll",
            "text": "which one?",
            "options": ["this", "that"],
        },
    )
    critical = signed_raw_post(
        keys,
        {
            "version": 2,
            "author": author,
            "seq": 2,
            "created": CREATED + 2,
            "kind": "post",
            "text": "needs a newer reader",
            "crit": ["expires"],
            "expires": CREATED + 100,
        },
    )
    last = sign_post(Post(author, 3, CREATED + 3, "after the poll"), keys)
    raw = [bencoding.decode(first.encode()), poll, critical, bencoding.decode(last.encode())]
    await world.publisher.publish_raw_page(keys, 0, _page(keys, 2, raw), 4)
    state = await world.follow(keys)
    assert state.startswith("synced"), state
    held = {s.signed.post.seq: s for s in world.follower.author_posts(author.hex())}
    assert sorted(held) == [0, 1, 2, 3]
    views = {seq: post_view(world.follower, stored) for seq, stored in held.items()}
    assert views[1].kind == "poll" and views[1].text == "which one?"
    assert views[1].unsupported and "poll" in views[1].unsupported
    assert views[2].unsupported and "expires" in views[2].unsupported
    for seq in (0, 3):
        assert views[seq].unsupported is None and views[seq].verified
    # Signatures hold over the received bytes, unknown keys included.
    assert all(view.verified for view in views.values())

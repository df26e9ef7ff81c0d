"""Bad input is refused, logged, and loses nothing (issue 2).

In-process nodes with real libtorrent sessions and the real BEP 44 client on 127.0.0.x. An
attacker (its own Engine and DhtClient, no Node) publishes crafted heads, pages and torrents;
the follower must refuse each one, log why, keep running and keep everything it had.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from nodekit import make_node

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item, signable_bytes
from swarmfeed.core.feed import FeedPage, HeadPointer, encode_head_value
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MediaFile, MediaRef, Post, SignedPost, sign_post
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig, MetadataRefused
from swarmfeed.errors import RolledBack, TooLarge
from swarmfeed.localswarm import free_port
from swarmfeed.node.node import Node

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Attacker:
    """Publishes crafted data: seeds torrents with its own engine, puts heads with its client."""

    engine: Engine
    dht: DhtClient
    root: Path

    async def seed_file(self, name: str, data: bytes) -> bytes:
        folder = self.root / hashlib.sha1(data).hexdigest()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        created = create_torrent(folder / name)
        await self.engine.add_torrent(created.torrent, folder, seed_mode=True)
        return created.infohash

    async def seed_raw_torrent(self, info: dict[str, Any]) -> bytes:
        torrent = bencoding.encode({"info": info})
        folder = self.root / "raw"
        folder.mkdir(exist_ok=True)
        await self.engine.add_torrent(torrent, folder, seed_mode=True)
        return hashlib.sha1(bencoding.encode(info)).digest()

    async def publish_head(
        self, keys: KeyPair, page_ih: bytes, count: int, seq: int = 1
    ) -> MutableItem:
        item = sign_item(keys.seed, encode_head_value(HeadPointer(page_ih, count)), seq)
        result = await self.dht.put_mutable(item)
        assert result.stored > 0
        return item

    async def publish_page(self, keys: KeyPair, page: FeedPage) -> MutableItem:
        ih = await self.seed_file(page.file_name, page.encode())
        return await self.publish_head(keys, ih, page.last_seq + 1)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Node, Node, Attacker]]:
    author = make_node(tmp_path, "author", "127.0.0.40", [])
    author_listen = author.settings.listen
    follower = make_node(tmp_path, "follower", "127.0.0.41", [author_listen])
    ip = "127.0.0.42"
    engine = Engine(
        EngineConfig(
            listen_interface=f"{ip}:{free_port(ip)}",
            bootstrap_nodes=(author.settings.listen_endpoint, follower.settings.listen_endpoint),
            public_dht=False,
            local_only=True,
        ),
        tmp_path / "attacker-engine",
    )
    attacker = Attacker(
        engine,
        DhtClient(ip, lambda: [author.settings.listen_endpoint, follower.settings.listen_endpoint]),
        tmp_path / "attacker",
    )
    await author.start()
    await follower.start()
    await engine.start()
    await attacker.dht.start()
    try:
        yield author, follower, attacker
    finally:
        await attacker.dht.close()
        await engine.stop()
        await follower.stop()
        await author.stop()


async def follow_and_sync(follower: Node, author: bytes) -> str:
    follower.follower.follow(author.hex())
    await follower.follower.sync(author.hex())
    row = next(r for r in follower.follows() if r.author == author.hex())
    return f"{row.state}: {row.last_error}"


def signed_raw_post(keys: KeyPair, fields: dict[str, Any]) -> dict[str, Any]:
    """Sign an arbitrary post dict, bypassing swarmfeed's validation (what an attacker can do)."""
    raw = dict(fields)
    raw["sig"] = nacl.signing.SigningKey(keys.seed).sign(bencoding.encode(raw)).signature
    return raw


async def test_bad_input_is_refused_logged_and_nothing_is_lost(
    world: tuple[Node, Node, Attacker], caplog: pytest.LogCaptureFixture
) -> None:
    author, follower, attacker = world
    caplog.set_level(logging.INFO)
    honest = await author.create_post("honest post")
    old_head = author.publisher.own_head()
    assert old_head is not None
    second = await author.create_post("second honest post")
    await author.publisher.wait_published()
    state = await follow_and_sync(follower, author.keys.public_key)
    assert state.startswith("synced"), state
    kept = {honest.id, second.id}

    def nothing_lost() -> None:
        assert {p.id for p in follower.author_posts(author.author)} == kept
        assert follower.status().author == follower.author

    # A rolled-back head (an older item, validly signed) is refused.
    with pytest.raises(RolledBack, match="rolled back"):
        await follower.follower.accept_head(author.author, old_head)
    # The same seq with a different value (equivocation / replay) is refused.
    current = author.publisher.own_head()
    assert current is not None
    forked = sign_item(
        author.keys.seed, encode_head_value(HeadPointer(b"\x01" * 20, 2)), current.seq
    )
    with pytest.raises(RolledBack):
        await follower.follower.accept_head(author.author, forked)
    # An oversized head value is refused before anything is fetched.
    big_value = bencoding.encode({"ih": b"\x02" * 20, "n": 1, "pad": b"x" * 1200})
    big = MutableItem(
        author.keys.public_key,
        current.seq + 5,
        big_value,
        author.keys.sign(signable_bytes(current.seq + 5, big_value)),
    )
    with pytest.raises(TooLarge):
        await follower.follower.accept_head(author.author, big)
    nothing_lost()

    # A forged post: signature does not match the (tampered) text.
    mallory = KeyPair.generate()
    post = sign_post(Post(mallory.public_key, 0, 1_700_000_000, "I pay you"), mallory)
    forged = SignedPost(Post(mallory.public_key, 0, 1_700_000_000, "I pay me"), post.signature)
    await attacker.publish_page(mallory, FeedPage(mallory.public_key, 0, 0, 64, None, (forged,)))
    state = await follow_and_sync(follower, mallory.public_key)
    assert state.startswith("refused") and "signature" in state, state
    assert follower.author_posts(mallory.public_key.hex()) == []
    nothing_lost()

    # A post under the wrong author: validly signed by someone else, placed in mallory's feed.
    trent = KeyPair.generate()
    stolen = sign_post(Post(trent.public_key, 0, 1_700_000_000, "not mallory's"), trent)
    eve = KeyPair.generate()
    await attacker.publish_page(eve, FeedPage(eve.public_key, 0, 0, 64, None, (stolen,)))
    state = await follow_and_sync(follower, eve.public_key)
    assert state.startswith("refused") and "author" in state, state
    assert follower.author_posts(eve.public_key.hex()) == []
    nothing_lost()

    # Malformed bencode where a page should be.
    oscar = KeyPair.generate()
    garbage_ih = await attacker.seed_file(
        f"swarmfeed-{oscar.public_key.hex()[:16]}-page-0.bencode", b"d7:versioni01ee"
    )
    await attacker.publish_head(oscar, garbage_ih, 1)
    state = await follow_and_sync(follower, oscar.public_key)
    assert state.startswith("refused"), state
    nothing_lost()

    # A signed post whose media path escapes its folder is refused with its page.
    peggy = KeyPair.generate()
    escaping = signed_raw_post(
        peggy,
        {
            "version": 1,
            "author": peggy.public_key,
            "seq": 0,
            "created": 1_700_000_000,
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
    page = bencoding.encode(
        {
            "version": 1,
            "author": peggy.public_key,
            "index": 0,
            "first": 0,
            "capacity": 64,
            "posts": [escaping],
        }
    )
    page_ih = await attacker.seed_file(
        f"swarmfeed-{peggy.public_key.hex()[:16]}-page-0.bencode", page
    )
    await attacker.publish_head(peggy, page_ih, 1)
    state = await follow_and_sync(follower, peggy.public_key)
    assert state.startswith("refused") and "path" in state, state
    nothing_lost()

    # A valid post whose media torrent's info dict escapes its folder: the metadata is refused
    # before any piece is downloaded, the post itself stays.
    victor = KeyPair.generate()
    content = b"#!/bin/sh\necho pwned\n"
    info = {
        "name": "post-0",
        "piece length": 16384,
        "pieces": hashlib.sha1(content).digest(),
        "files": [{"length": len(content), "path": ["..", "..", "evil.sh"]}],
    }
    media_ih = await attacker.seed_raw_torrent(info)
    refused = asyncio.Event()
    follower.engine.subscribe(
        lambda event: (
            refused.set()
            if isinstance(event, MetadataRefused) and event.infohash == media_ih.hex()
            else None
        )
    )
    # The author signs the real hashes of the hostile info dict (v1: SHA-1, v2: SHA-256 of it).
    media_ih2 = hashlib.sha256(bencoding.encode(info)).digest()
    ref = MediaRef(
        media_ih, media_ih2, "post-0", (MediaFile("evil.sh", len(content), "text/x-sh"),)
    )
    post = sign_post(Post(victor.public_key, 0, 1_700_000_000, "a script", ref), victor)
    await attacker.publish_page(victor, FeedPage(victor.public_key, 0, 0, 64, None, (post,)))
    state = await follow_and_sync(follower, victor.public_key)
    assert state.startswith("synced"), state
    await asyncio.wait_for(refused.wait(), timeout=60)
    assert not follower.engine.has(media_ih.hex())
    escaped = [p for p in follower.layout.home.parent.rglob("evil.sh") if "attacker" not in str(p)]
    assert escaped == []
    nothing_lost()

    logged = caplog.text
    for reason in ("rolled back", "signature", "author", "path"):
        assert reason in logged, f"no log line mentions {reason!r}"

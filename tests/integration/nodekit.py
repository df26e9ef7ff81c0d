"""Helpers for the integration tests: in-process nodes on their own loopback addresses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item
from swarmfeed.core.feed import FeedPage, HeadPointer, encode_head_value
from swarmfeed.core.identity import KeyPair
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.localswarm import free_port
from swarmfeed.node.config import Settings
from swarmfeed.node.node import Node


def make_node(tmp: Path, name: str, ip: str, bootstrap: list[str]) -> Node:
    """Build (not start) a node that polls and republishes only when a test asks it to."""
    bt_port = free_port(ip)
    settings = Settings(
        home=tmp / name,
        listen=f"{ip}:{bt_port}",
        http=f"{ip}:{free_port(ip, avoid={bt_port})}",
        bootstrap=bootstrap,
        public_dht=False,
        poll_interval=3600,
        republish_interval=3600,
        super_seed_new_media=False,
    )
    node = Node(settings, KeyPair.generate(), fresh=True)
    node.follower.timings = type(node.follower.timings)(poll_interval=3600, republish_interval=3600)
    node.feeds.page_timeout = 30
    return node


@dataclass
class Attacker:
    """Publishes crafted data: seeds torrents with its own engine, puts heads with its client."""

    engine: Engine
    dht: DhtClient
    root: Path

    async def seed_file(self, name: str, data: bytes) -> bytes:
        """Seed one file as a v1 page-like torrent; return its infohash."""
        folder = self.root / hashlib.sha1(data).hexdigest()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        created = create_torrent(folder / name, v1_only=True, piece_size=16384)
        await self.engine.add_torrent(created.torrent, folder, seed_mode=True)
        return created.infohash

    async def seed_raw_torrent(self, info: dict[str, Any]) -> bytes:
        """Seed a torrent whose info dict is given as is (however hostile)."""
        torrent = bencoding.encode({"info": info})
        folder = self.root / "raw"
        folder.mkdir(parents=True, exist_ok=True)
        await self.engine.add_torrent(torrent, folder, seed_mode=True)
        return hashlib.sha1(bencoding.encode(info)).digest()

    async def publish_head(
        self, keys: KeyPair, page_ih: bytes, count: int, seq: int = 1
    ) -> MutableItem:
        """Sign and put a head naming ``page_ih`` with ``count`` posts."""
        item = sign_item(keys.seed, encode_head_value(HeadPointer(page_ih, count)), seq)
        result = await self.dht.put_mutable(item)
        assert result.stored > 0
        return item

    async def publish_page(
        self, keys: KeyPair, page: FeedPage, count: int | None = None, seq: int = 1
    ) -> MutableItem:
        """Seed ``page`` and put a head naming it (``count`` defaults to the truth)."""
        ih = await self.seed_file(page.file_name, page.encode())
        return await self.publish_head(keys, ih, page.last_seq + 1 if count is None else count, seq)

    async def publish_raw_page(self, keys: KeyPair, index: int, page: bytes, count: int) -> bytes:
        """Seed arbitrary page bytes under the page name of ``keys`` and put a head naming it."""
        ih = await self.seed_file(
            f"swarmfeed-{keys.public_key.hex()[:16]}-page-{index}.bencode", page
        )
        await self.publish_head(keys, ih, count)
        return ih


def signed_raw_post(keys: KeyPair, fields: dict[str, Any]) -> dict[str, Any]:
    """Sign an arbitrary post dict, bypassing swarmfeed's validation (what an attacker can do)."""
    raw = dict(fields)
    raw["sig"] = nacl.signing.SigningKey(keys.seed).sign(bencoding.encode(raw)).signature
    return raw


def raw_page(keys: KeyPair, posts: list[dict[str, Any]], index: int = 0) -> bytes:
    """Return the bencoded page dict (protocol.md §5) around already signed raw posts."""
    return bencoding.encode(
        {
            "version": 1,
            "author": keys.public_key,
            "index": index,
            "first": index * 64,
            "capacity": 64,
            "posts": posts,
        }
    )

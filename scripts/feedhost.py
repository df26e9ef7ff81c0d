#!/usr/bin/env python3
"""Seed generated feeds of many authors from one process (the scale benchmark's authors).

One bare engine seeds every generated feed (pages and media bundles), one BEP 44 client puts
their heads, and the engine announces each author's rendezvous key (protocol.md §10) so
followers find it as they would find any holder of the author. A few bare DHT nodes (no
torrents) in the same process give the private DHT enough nodes to store announces on.

    python scripts/feedhost.py --ip 127.0.6.2 --dir DIR [--helpers 3]

It prints ``{"listen": "ip:port", "dht": ["ip:port", ...]}`` once the engines run, then reads
one JSON command per line on stdin and answers each with one JSON line on stdout:

- ``{"op": "generate", "first": 0, "authors": 100, "posts": 100, "size": 4096}``: write and
  seed the feeds of authors ``keys_for(first ..)``; answers ``authors`` (hex keys),
  ``torrents`` and ``seconds``.
- ``{"op": "announce"}``: put every head and announce every author's rendezvous key; answers
  ``heads`` (how many were stored on at least one node), ``findable`` (authors a DHT lookup
  finds under their rendezvous key) and ``seconds``.
- ``{"op": "quit"}``: stop the engines and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from swarmfeed.core.rendezvous import peers_key
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.feedgen import GeneratedFeed, generate_feed, keys_for
from swarmfeed.localswarm import free_port

CREATED = 1_700_000_000


class FeedHost:
    """The engines, the BEP 44 client and the feeds they serve."""

    def __init__(self, ip: str, root: Path, helper_ips: list[str]) -> None:
        self.root = root
        self.engine = Engine(self._config(ip, ()), root / "engine")
        self.helpers: list[Engine] = []
        self.helper_ips = helper_ips
        self.ip = ip
        self.dht: DhtClient | None = None
        self.feeds: list[GeneratedFeed] = []

    @staticmethod
    def _config(ip: str, bootstrap: tuple[tuple[str, int], ...]) -> EngineConfig:
        return EngineConfig(
            listen_interface=f"{ip}:{free_port(ip)}",
            bootstrap_nodes=bootstrap,
            public_dht=False,
            local_only=True,
            connections_limit=2000,
            resume_save_interval=3600.0,
        )

    def endpoint(self, engine: Engine) -> tuple[str, int]:
        """Return an engine's BitTorrent/DHT endpoint."""
        host = engine.config.listen_interface.rsplit(":", 1)[0]
        return host, int(engine.session_status().listen_port)

    async def start(self) -> dict[str, Any]:
        """Start the engines and the BEP 44 client."""
        await self.engine.start()
        main = self.endpoint(self.engine)
        for index, ip in enumerate(self.helper_ips):
            helper = Engine(self._config(ip, (main,)), self.root / f"helper-{index}")
            await helper.start()
            self.helpers.append(helper)
        self.dht = DhtClient(self.ip, self.seeds)
        await self.dht.start()
        return {
            "listen": "{}:{}".format(*main),
            "dht": ["{}:{}".format(*self.endpoint(h)) for h in self.helpers],
        }

    def seeds(self) -> list[tuple[str, int]]:
        """Return where the BEP 44 client starts its lookups."""
        nodes = [self.endpoint(self.engine), *(self.endpoint(h) for h in self.helpers)]
        return nodes + self.engine.dht_nodes()

    async def generate(self, first: int, authors: int, posts: int, size: int) -> dict[str, Any]:
        """Write and seed the feeds of ``authors`` authors."""
        started = time.monotonic()
        keys: list[str] = []
        torrents = 0
        for index in range(first, first + authors):
            author = keys_for(index)
            feed = await asyncio.to_thread(
                generate_feed, self.root, author, posts, size, CREATED + index
            )
            for torrent in feed.pages:  # a back catalogue: announced once by ``announce``
                await self.engine.add_torrent(
                    torrent.torrent,
                    self.root / "content" / torrent.infohash.hex(),
                    seed_mode=True,
                    fresh=False,
                )
            # Old media stays out of the DHT, as on a node: followers find the author's
            # rendezvous instead (dht=False, fresh=False).
            for torrent in feed.media:
                await self.engine.add_torrent(
                    torrent.torrent,
                    self.root / "content" / torrent.infohash.hex(),
                    seed_mode=True,
                    dht=False,
                    fresh=False,
                )
            torrents += len(feed.pages) + len(feed.media)
            self.feeds.append(feed)
            keys.append(feed.author)
        return {"authors": keys, "torrents": torrents, "seconds": time.monotonic() - started}

    async def announce(self) -> dict[str, Any]:
        """Put every head and announce every author's rendezvous key."""
        assert self.dht is not None
        started = time.monotonic()
        for feed in self.feeds:
            self.engine.announce_rendezvous(peers_key(feed.keys.public_key))
            for page in feed.pages:  # added before the DHT had nodes: announce them now
                self.engine.set_dht(page.infohash.hex(), True)
        gate = asyncio.Semaphore(8)

        async def put(feed: GeneratedFeed) -> bool:
            assert self.dht is not None
            async with gate:
                return (await self.dht.put_mutable(feed.head)).stored > 0

        stored = await asyncio.gather(*(put(feed) for feed in self.feeds))
        # An announce is a DHT traversal: wait until a bare DHT node finds each author under
        # its key, so followers do not start while it is under way.
        finder = self.helpers[0] if self.helpers else self.engine

        async def findable(feed: GeneratedFeed) -> bool:
            key = peers_key(feed.keys.public_key)
            async with gate:
                for _ in range(10):
                    if await finder.find_rendezvous(key, timeout=2.0):
                        return True
                    self.engine.announce_rendezvous(key)
                return False

        found = await asyncio.gather(*(findable(feed) for feed in self.feeds))
        return {"heads": sum(stored), "findable": sum(found), "seconds": time.monotonic() - started}

    async def stop(self) -> None:
        """Stop the client and the engines."""
        if self.dht is not None:
            await self.dht.close()
        for engine in [*self.helpers, self.engine]:
            await engine.stop()


def reply(message: dict[str, Any]) -> None:
    """Write one JSON line to stdout."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve(args: argparse.Namespace) -> None:
    """Run the host until stdin closes or ``quit``."""
    host = FeedHost(args.ip, args.dir, args.helper_ips)
    reply(await host.start())
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            op = command.pop("op")
            if op == "generate":
                reply(await host.generate(**command))
            elif op == "announce":
                reply(await host.announce())
            elif op == "quit":
                return
            else:
                reply({"error": f"unknown op {op!r}"})
    finally:
        await host.stop()


def main() -> int:
    """Parse the command line and run the host."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ip", required=True, help="loopback address of the seeding engine")
    p.add_argument("--helper-ips", nargs="*", default=[], help="addresses of bare DHT nodes")
    p.add_argument("--dir", type=Path, required=True, help="where feeds and engine state go")
    p.add_argument("--log-level", default="WARNING")
    args = p.parse_args()
    logging.basicConfig(level=args.log_level, stream=sys.stderr)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

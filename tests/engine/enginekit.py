"""Helpers for the engine tests: real engines on loopback addresses (127.0.0.60-79 by default).

Every engine runs ``local_only`` (no LSD, UPnP, NAT-PMP; TCP only) with ``public_dht=False``;
the engines of one test are introduced to each other as DHT bootstrap nodes. Nothing here
mocks libtorrent or sleep-polls it: tests await the engine's own futures and events, with
``asyncio.wait_for`` only as a safety net sized for a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig, EngineEvent
from swarmfeed.localswarm import free_port

# Generous: other heavy test runs share this machine's two cores.
TIMEOUT = 60.0

_HOSTS = itertools.cycle([f"127.0.0.{i}" for i in range(60, 80)])

E = TypeVar("E")


@dataclass
class Events:
    """Every event one engine emitted, with a way to await the next matching one."""

    seen: list[EngineEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: EngineEvent) -> None:
        self.seen.append(event)
        self.changed.set()

    def of(self, kind: type[E], infohash: str | None = None) -> list[E]:
        found = [e for e in self.seen if isinstance(e, kind)]
        return [e for e in found if infohash is None or getattr(e, "infohash", None) == infohash]

    async def wait_for(self, kind: type[E], infohash: str, timeout: float = TIMEOUT) -> E:
        """Return the first ``kind`` event for ``infohash`` (seen already, or the next one)."""

        async def wait() -> E:
            while True:
                found = self.of(kind, infohash)
                if found:
                    return found[0]
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)


@dataclass
class Node:
    """One engine with its state folder, its events and where it stores downloads."""

    engine: Engine
    events: Events
    host: str
    port: int
    root: Path

    @property
    def endpoint(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"


class Swarm:
    """Builds engines for one test and stops every engine still running at teardown."""

    def __init__(self, tmp: Path, hosts: Iterable[str] | None = None) -> None:
        self.tmp = tmp
        self.nodes: list[Node] = []
        self._names = itertools.count()
        self._hosts: Iterator[str] = itertools.cycle(list(hosts)) if hosts else _HOSTS

    def endpoint(self) -> tuple[str, int]:
        """Pick a fresh loopback address and a port free on it."""
        host = next(self._hosts)
        return host, free_port(host)

    async def start(
        self,
        *,
        bootstrap: tuple[tuple[str, int], ...] | None = None,
        endpoint: tuple[str, int] | None = None,
        root: Path | None = None,
        **config: Any,
    ) -> Node:
        """Start an engine; by default it bootstraps its DHT from every engine already started."""
        host, port = endpoint or self.endpoint()
        if bootstrap is None:
            bootstrap = tuple(node.endpoint for node in self.nodes if node.engine._session)
        base = EngineConfig(
            listen_interface=f"{host}:{port}",
            bootstrap_nodes=bootstrap,
            public_dht=False,
            local_only=True,
        )
        root = root or self.tmp / f"node-{next(self._names)}"
        engine = Engine(replace(base, **config), root / "engine")
        events = Events()
        engine.subscribe(events)
        await engine.start()
        node = Node(engine, events, host, port, root)
        self.nodes.append(node)
        return node

    async def stop(self, node: Node) -> None:
        await asyncio.wait_for(node.engine.stop(), TIMEOUT)

    async def close(self) -> None:
        for node in reversed(self.nodes):
            if node.engine._session is not None:
                await self.stop(node)

    async def __aenter__(self) -> Swarm:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def eventually(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds, checking every 50 ms.

    Only for state libtorrent raises no alert about (a peer's HAVE messages, for one).
    """

    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.05)  # no alert reports this state change

    await asyncio.wait_for(wait(), timeout)


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def write_tree(folder: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path -> bytes) under ``folder``; return ``folder``."""
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder

"""Peers of an author, found once per author instead of once per post (a rendezvous).

Every node that holds an author's content announces its BitTorrent port in the DHT under the
author's peers key (core/rendezvous.peers_key, protocol.md "Author rendezvous") every 20
minutes; a node that wants a page or bundle of that author looks the key up once and hands the
peers to the torrent (``Engine.add_magnet(peers=...)``). The torrent's own DHT announces and
lookups (BEP 5) are then needed only while the post is fresh or when nobody is known, so DHT
traffic grows with the authors held, not with their posts.

An author this node does not hold (a page read once for a notice or a reposted original) is
looked up the same way, never announced; what such lookups found is kept for the
MAX_STRANGERS authors used last only, so peers that send notices cannot grow it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from swarmfeed.core.rendezvous import peers_key
from swarmfeed.errors import SwarmfeedError
from swarmfeed.supervisor import Supervisor

log = logging.getLogger("swarmfeed.peers")

Endpoint = tuple[str, int]

ANNOUNCE_INTERVAL = 20 * 60.0
"""Seconds between announces of one author (DHT nodes drop an announce after ~30 min)."""
ANNOUNCE_PACE = 0.5
"""Seconds between two announces, so a start with many authors spreads its DHT traffic."""
LOOKUP_TTL = 5 * 60.0
"""Seconds a lookup's result is used before a need looks the key up again."""
EMPTY_LOOKUP_TTL = 15.0
"""Seconds before a lookup that found nobody is repeated (an announce is a DHT traversal: a
lookup sent while it is under way finds nothing, and a catch-up would stall until the next)."""
LOOKUP_TIMEOUT = 3.0
"""Seconds a need waits for a lookup when no peer is known yet."""
MAX_PEERS = 32
"""Peers handed to one torrent at most."""
PEER_REFRESH = 10.0
"""Seconds between asking for an author's peers again while a torrent waits for metadata."""
HINT_TORRENTS = 16
"""The author's most recent torrents whose connected peers also count as the author's peers."""
MAX_STRANGERS = 64
"""Authors not held whose lookup results are kept (the least recently used are forgotten)."""


class MetadataEngine(Protocol):
    """What waiting for a torrent's metadata with fresh peers needs of the engine."""

    async def wait_metadata(self, infohash: str, timeout: float | None = None) -> None:
        """Wait until the torrent has checked metadata; TimeoutError if not in time."""

    def connect_peers(self, infohash: str, peers: Iterable[Endpoint]) -> None:
        """Hand peers to the torrent."""


async def wait_metadata_with_peers(
    engine: MetadataEngine,
    infohash: str,
    timeout: float,
    peers: Callable[[], Awaitable[list[Endpoint]]],
) -> None:
    """Wait for ``infohash``'s metadata, handing it the author's peers found meanwhile.

    A torrent added before the rendezvous knew anybody (the author's announce still under
    way, or a lookup that missed) gets the peers a later lookup finds every PEER_REFRESH
    seconds instead of waiting out ``timeout``; TimeoutError after ``timeout``.
    """
    waited = 0.0
    while True:
        step = min(PEER_REFRESH, timeout - waited)
        try:
            await engine.wait_metadata(infohash, timeout=step)
            return
        except TimeoutError:
            waited += step
            if waited >= timeout:
                raise
        found = await peers()
        if found:
            engine.connect_peers(infohash, found)


class RendezvousEngine(Protocol):
    """What the rendezvous needs of the engine."""

    def announce_rendezvous(self, key: bytes) -> None:
        """Announce our BitTorrent port under ``key``."""

    async def find_rendezvous(self, key: bytes, *, timeout: float, want: int = 1) -> list[Endpoint]:
        """Look up the peers announced under ``key``."""

    def peer_hints(self, infohashes: Iterable[str]) -> list[Endpoint]:
        """Return peers known for any of ``infohashes``."""

    async def wait_dht_nodes(self, count: int, timeout: float | None = None) -> None:
        """Wait until the DHT routing table holds ``count`` nodes."""


@dataclass
class _Known:
    peers: list[Endpoint] = field(default_factory=list)
    looked_up: float = -1e18
    lookup: asyncio.Task[list[Endpoint]] | None = None


class AuthorPeers:
    """Announces the authors this node holds and remembers who holds the authors it wants."""

    def __init__(
        self,
        engine: RendezvousEngine,
        supervisor: Supervisor,
        torrents_of: Callable[[str, int], Iterable[str]],
        clock: Callable[[], float],
    ) -> None:
        self.engine = engine
        self.supervisor = supervisor
        self.torrents_of = torrents_of
        self.clock = clock
        self._due: dict[str, float] = {}
        self._known: dict[str, _Known] = {}
        """Lookup results of the held authors."""
        self._strangers: OrderedDict[str, _Known] = OrderedDict()
        """Lookup results of authors not held, least recently used first."""
        self._wake = asyncio.Event()
        self.announces = 0
        """Rendezvous announces sent since start."""
        self.lookups = 0
        """Rendezvous lookups sent since start."""

    def start(self) -> None:
        """Start announcing the held authors."""
        self.supervisor.spawn("rendezvous", self._announce_loop)

    def hold(self, author: str) -> None:
        """Announce from now on that this node holds ``author``'s content."""
        if author not in self._due:
            self._due[author] = 0.0
            self._known[author] = self._strangers.pop(author, _Known())
            self._wake.set()

    def release(self, author: str) -> None:
        """Stop announcing ``author`` and forget its peers."""
        self._due.pop(author, None)
        self._known.pop(author, None)  # a lookup under way ends within LOOKUP_TIMEOUT
        self._strangers.pop(author, None)

    def held(self) -> list[str]:
        """Return the authors announced."""
        return list(self._due)

    async def _announce_loop(self) -> None:
        # Measured on loopback (libtorrent 2.x): an announce sent while the routing table was
        # still empty left the node's own torrents unannounced, and followers found no peer.
        await self.engine.wait_dht_nodes(1)
        while True:
            self._wake.clear()
            now = self.clock()
            due = [author for author, at in self._due.items() if at <= now]
            for author in due:
                if author not in self._due:
                    continue  # released meanwhile
                self.engine.announce_rendezvous(peers_key(bytes.fromhex(author)))
                self.announces += 1
                self._due[author] = self.clock() + ANNOUNCE_INTERVAL
                await asyncio.sleep(ANNOUNCE_PACE)  # spread the DHT traffic of a start
            now = self.clock()
            next_due = min(self._due.values(), default=now + ANNOUNCE_INTERVAL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_due - now))

    def known(self, author: str) -> list[Endpoint]:
        """Return the peers known to hold ``author``'s content now (no lookup)."""
        entry = self._known.get(author) or self._strangers.get(author) or _Known()
        found = list(entry.peers)
        for peer in self.engine.peer_hints(self.torrents_of(author, HINT_TORRENTS)):
            if peer not in found:
                found.append(peer)
        return found[:MAX_PEERS]

    async def peers(self, author: str) -> list[Endpoint]:
        """Return peers of ``author``; look its rendezvous up when stale, wait if none known."""
        known = self._entry(author)
        ttl = LOOKUP_TTL if known.peers else EMPTY_LOOKUP_TTL
        stale = self.clock() - known.looked_up > ttl
        if stale and (known.lookup is None or known.lookup.done()):
            known.lookup = asyncio.create_task(self._lookup(author, known))
        current = self.known(author)
        if current or known.lookup is None or known.lookup.done():
            return current
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(known.lookup), LOOKUP_TIMEOUT)
        return self.known(author)

    def _entry(self, author: str) -> _Known:
        """Return the lookup state of ``author``, made most recent among the authors not held."""
        if author in self._due:
            return self._known.setdefault(author, _Known())
        known = self._strangers.pop(author, _Known())
        self._strangers[author] = known
        while len(self._strangers) > MAX_STRANGERS:
            self._strangers.popitem(last=False)  # a lookup under way still ends in time
        return known

    async def _lookup(self, author: str, known: _Known) -> list[Endpoint]:
        self.lookups += 1
        try:
            found = await self.engine.find_rendezvous(
                peers_key(bytes.fromhex(author)), timeout=LOOKUP_TIMEOUT, want=MAX_PEERS
            )
        except SwarmfeedError as exc:  # the engine stopped or refused the key
            log.info("rendezvous lookup of %s failed: %s", author[:16], exc)
            found = []
        known.looked_up = self.clock()
        known.peers = found[:MAX_PEERS]
        log.debug("rendezvous of %s: %d peers", author[:16], len(found))
        return known.peers

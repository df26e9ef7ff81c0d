"""Finding the holders of an author: its rendezvous in the DHT (protocol.md §11.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from swarmfeed.core.push.wire import rendezvous_key
from swarmfeed.dht.client import DhtClient
from swarmfeed.dht.peers import announce_peer, get_peers
from swarmfeed.push.udp import Address


@dataclass(frozen=True)
class Found:
    """What one rendezvous lookup found."""

    holders: tuple[Address, ...]
    """Channel endpoints announced by holders of the author."""
    announced: bool
    """Whether our own endpoint was announced (stored by at least one DHT node)."""


class Rendezvous(Protocol):
    """Where holders of an author meet (tests use an in-memory one)."""

    async def meet(self, author: bytes, port: int | None) -> Found:
        """Return the holders of ``author``; with ``port``, announce ours there too."""
        ...


class DhtRendezvous:
    """The rendezvous in the mainline DHT: BEP 5 get_peers/announce_peer at the author's key."""

    def __init__(self, dht: DhtClient) -> None:
        self.dht = dht

    async def meet(self, author: bytes, port: int | None) -> Found:
        """Look up the author's rendezvous key; announce ``port`` with the tokens it gave."""
        key = rendezvous_key(author)
        result = await get_peers(self.dht, key)
        announced = False
        if port is not None and result.tokens:
            announced = (await announce_peer(self.dht, key, port, result)).stored > 0
        return Found(result.peers, announced)

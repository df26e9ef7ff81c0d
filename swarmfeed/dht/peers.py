"""BEP 5 peer lookups over our DHT client: ``get_peers`` and ``announce_peer``.

The push channel finds the holders of an author at a rendezvous key (protocol.md §11.2): every
holder announces its channel's UDP port there with ``announce_peer`` (``implied_port`` 0, the
token of a preceding ``get_peers``) and looks the others up with ``get_peers``. The client stays
a read-only node (BEP 43); libtorrent stores announcements from read-only nodes (measured on
2.1.1) and drops them after 45 minutes unless they are renewed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from swarmfeed.dht import krpc
from swarmfeed.dht.client import DhtClient, PutResult, TokenHolder
from swarmfeed.dht.krpc import ErrorReply, Response
from swarmfeed.errors import InvalidInput

Address = tuple[str, int]

MAX_PEERS = 256
"""At most this many distinct peers are kept from one lookup."""

log = logging.getLogger("swarmfeed.dht")


@dataclass(frozen=True)
class PeersResult:
    """The outcome of a get_peers lookup."""

    peers: tuple[Address, ...]
    """Distinct peers the answering nodes stored for the info hash."""
    tokens: tuple[TokenHolder, ...]
    """The up-to-k answering nodes closest to the info hash that gave a write token."""
    responders: int
    info_hash: bytes


async def get_peers(client: DhtClient, info_hash: bytes) -> PeersResult:
    """Look up the peers stored under ``info_hash`` (BEP 5 get_peers) and collect tokens."""
    if len(info_hash) != krpc.NODE_ID_BYTES:
        raise InvalidInput("an info hash is 20 bytes")
    answered = await client.lookup(
        info_hash, lambda tid: krpc.build_get_peers(tid, client.node_id, info_hash), "get_peers"
    )
    peers: list[Address] = []
    holders: list[TokenHolder] = []
    for node, response in answered:
        for peer in response.peers:
            if peer not in peers and len(peers) < MAX_PEERS:
                peers.append(peer)
        if response.token is not None and len(holders) < client.k:
            holders.append(TokenHolder(node, response.token))
    return PeersResult(tuple(peers), tuple(holders), len(answered), info_hash)


async def announce_peer(
    client: DhtClient, info_hash: bytes, port: int, prior: PeersResult | None = None
) -> PutResult:
    """Announce ``port`` at our address under ``info_hash`` on the closest token holders.

    Without ``prior`` a get_peers lookup collects the tokens first. Nodes that refuse count as
    not stored; nothing a peer does raises.
    """
    if prior is None:
        prior = await get_peers(client, info_hash)
    elif prior.info_hash != info_hash:
        raise InvalidInput("the prior lookup was for another info hash")

    def builder(holder: TokenHolder) -> Callable[[bytes], bytes]:
        return lambda tid: krpc.build_announce_peer(
            tid, client.node_id, info_hash, port, holder.token
        )

    replies = await asyncio.gather(
        *(
            client.query(holder.node.addr, builder(holder), "announce_peer")
            for holder in prior.tokens
        )
    )
    stored = sum(1 for reply in replies if isinstance(reply, Response))
    errors = tuple(reply.code for reply in replies if isinstance(reply, ErrorReply))
    log.debug("announce %s port %d: stored on %d", info_hash.hex()[:16], port, stored)
    return PutResult(stored, len(prior.tokens), errors)

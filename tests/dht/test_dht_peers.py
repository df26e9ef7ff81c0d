"""BEP 5 get_peers / announce_peer through our read-only client on real libtorrent nodes.

The push channel's rendezvous (protocol.md §11.2) rests on two facts measured here: libtorrent
stores the announcement of a read-only (BEP 43) node with the port it names (``implied_port``
0), and hands it to any other node's get_peers.
"""

from __future__ import annotations

from typing import Any

import pytest

from swarmfeed.core.push.wire import rendezvous_key
from swarmfeed.dht.client import DhtClient
from swarmfeed.dht.peers import announce_peer, get_peers

DhtNode = Any  # tests/dht/conftest.py: a session with host, port and addr

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def client(host: str, nodes: list[DhtNode]) -> DhtClient:
    return DhtClient(host, lambda: [node.addr for node in nodes], timeout=0.5, min_interval=0.0)


async def test_announced_channel_ports_are_found_by_others(dht_nodes: list[DhtNode]) -> None:
    nodes = dht_nodes
    key = rendezvous_key(b"k" * 32)
    async with client("127.0.0.234", nodes) as holder, client("127.0.0.235", nodes) as seeker:
        empty = await get_peers(seeker, key)
        assert empty.peers == ()
        assert empty.responders == len(nodes)
        assert len(empty.tokens) == len(nodes)
        result = await announce_peer(holder, key, 40001)
        assert result.stored == len(nodes), result
        found = await get_peers(seeker, key)
        assert found.peers == (("127.0.0.234", 40001),)
        # A second holder reuses the tokens of its own lookup.
        prior = await get_peers(seeker, key)
        assert (await announce_peer(seeker, key, 40002, prior)).stored == len(nodes)
        both = await get_peers(holder, key)
        assert set(both.peers) == {("127.0.0.234", 40001), ("127.0.0.235", 40002)}
        # Another key holds nothing of this one.
        assert (await get_peers(seeker, rendezvous_key(b"j" * 32))).peers == ()

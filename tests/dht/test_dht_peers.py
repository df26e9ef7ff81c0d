"""BEP 5 get_peers / announce_peer through our read-only client on real libtorrent nodes.

The push channel's rendezvous (protocol.md §11.2) rests on two facts measured here: libtorrent
stores the announcement of a read-only (BEP 43) node with the port it names (``implied_port``
0), and hands it to any other node's get_peers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ALERT_MASK, DhtNode, free_port, routing_table_size

from swarmfeed.core.push.wire import rendezvous_key
from swarmfeed.dht.client import DhtClient
from swarmfeed.dht.peers import announce_peer, get_peers

lt = pytest.importorskip("libtorrent")

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

HOSTS = [f"127.0.0.{i}" for i in range(230, 234)]


@pytest.fixture(scope="module")
def nodes() -> Iterator[list[DhtNode]]:
    """Start four DHT sessions on 127.0.0.230-233 and wait until they know each other."""
    started = []
    for host in HOSTS:
        port = free_port(host)
        session: Any = lt.session(
            {
                "listen_interfaces": f"{host}:{port}",
                "enable_dht": True,
                "dht_bootstrap_nodes": "",
                "enable_lsd": False,
                "enable_upnp": False,
                "enable_natpmp": False,
                "dht_restrict_routing_ips": False,
                "dht_restrict_search_ips": False,
                "alert_mask": ALERT_MASK,
            }
        )
        started.append(DhtNode(session, host, port))
    for node in started:
        for other in started:
            if other is not node:
                node.session.add_dht_node(other.addr)
    deadline = time.monotonic() + 15
    while min(routing_table_size(node.session) for node in started) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("private DHT did not form")
    yield started
    for node in started:
        node.session.pause()


def client(host: str, nodes: list[DhtNode]) -> DhtClient:
    return DhtClient(host, lambda: [node.addr for node in nodes], timeout=0.5, min_interval=0.0)


async def test_announced_channel_ports_are_found_by_others(nodes: list[DhtNode]) -> None:
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

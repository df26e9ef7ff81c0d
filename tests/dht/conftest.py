"""A private five-node libtorrent DHT on loopback (../shared/NOTES.md) and anyio's backend."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

lt = pytest.importorskip("libtorrent")

NODE_HOSTS = [f"127.0.0.{i}" for i in range(2, 7)]
ALERT_MASK = (
    lt.alert.category_t.dht_notification
    | lt.alert.category_t.status_notification
    | lt.alert.category_t.error_notification
    | lt.alert.category_t.stats_notification
)


@pytest.fixture
def anyio_backend() -> str:
    """Run the anyio tests on asyncio (the DHT client is asyncio code)."""
    return "asyncio"


@dataclass
class DhtNode:
    """One libtorrent session of the private DHT."""

    session: Any
    host: str
    port: int

    @property
    def addr(self) -> tuple[str, int]:
        return (self.host, self.port)


def free_port(host: str) -> int:
    """Return a port free for both TCP and UDP on ``host`` (libtorrent listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no free port on {host}")


def routing_table_size(session: Any, timeout: float = 1.0) -> int:
    """Return the number of nodes in ``session``'s DHT routing table (dht_stats_alert)."""
    session.post_dht_stats()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.wait_for_alert(100)
        for alert in session.pop_alerts():
            if isinstance(alert, lt.dht_stats_alert):
                return sum(bucket["num_nodes"] for bucket in alert.routing_table)
    return 0


@pytest.fixture(scope="module")
def dht_nodes() -> Iterator[list[DhtNode]]:
    """Start five DHT sessions on 127.0.0.2-6, introduce them, wait until they know peers."""
    nodes = []
    for host in NODE_HOSTS:
        port = free_port(host)
        session = lt.session(
            {
                "listen_interfaces": f"{host}:{port}",
                "enable_dht": True,
                "dht_bootstrap_nodes": "",
                "enable_lsd": False,
                "enable_upnp": False,
                "enable_natpmp": False,
                "dht_restrict_routing_ips": False,
                "dht_restrict_search_ips": False,
                "allow_multiple_connections_per_ip": True,
                "alert_mask": ALERT_MASK,
            }
        )
        nodes.append(DhtNode(session, host, port))
    for node in nodes:
        for other in nodes:
            if other is not node:
                node.session.add_dht_node(other.addr)
    deadline = time.monotonic() + 15
    while True:
        sizes = [routing_table_size(node.session) for node in nodes]
        if min(sizes) >= 3:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"private DHT did not form: routing tables {sizes}")
    yield nodes
    for node in nodes:
        node.session.pause()
    del nodes[:]

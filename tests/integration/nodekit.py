"""Helpers for the integration tests: in-process nodes on their own loopback addresses."""

from __future__ import annotations

from pathlib import Path

from swarmfeed.core.identity import KeyPair
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
    node.follower.timings = type(node.follower.timings)(
        poll_interval=3600, republish_interval=3600, page_timeout=30
    )
    return node

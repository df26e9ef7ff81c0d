"""Whether other nodes can find and reach this one, and what to do when they cannot (pure).

A node can sign and seed everything while nobody can find it: no DHT node answers, its head
is stored nowhere, no peer can connect. These rules turn what the node observed into a plain
verdict with advice, and decide which of its addresses it may hand out as peer hints.

What "reachable" means here (docs/architecture.md, "Reachability"):

- the **listen address** when it is one specific unicast IP address (not a wildcard such as
  ``0.0.0.0``): peers are told to connect to exactly the address the node accepts connections
  on; a loopback or private address only helps clients on the same machine or network;
- the **external address** other peers report (libtorrent learns it from DHT nodes' and peers'
  votes), but only once a peer has connected to the node from outside: an address seen from
  outside proves nothing about a port behind a NAT, an incoming connection does.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from swarmfeed.core.units import counted

STARTING_GRACE = 30.0
"""Seconds after start during which an empty DHT routing table is not yet called offline."""
INCOMING_GRACE = 600.0
"""Seconds without any incoming connection after which a node is called limited."""
WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 - names of the wildcard addresses, not binds


class Level(enum.StrEnum):
    """How findable and reachable the node is."""

    STARTING = "starting"
    """Just started: joining the DHT."""
    ONLINE = "online"
    """Found through the DHT, and peers have connected."""
    LIMITED = "limited"
    """Found through the DHT, but no peer has connected: only peers that accept connections
    themselves can exchange data with it."""
    OFFLINE = "offline"
    """Nobody can find its posts: no DHT node answers, or its head is stored on none."""


@dataclass(frozen=True)
class HeadPut:
    """The outcome of the latest put of this node's own head into the DHT (BEP 44)."""

    seq: int
    stored: int
    """DHT nodes that stored it."""
    attempted: int
    """DHT nodes it was sent to (those that gave a write token)."""
    at: float
    """When the put ended (POSIX seconds)."""


@dataclass(frozen=True)
class Facts:
    """What the node observed about its reach."""

    dht_nodes: int
    """Nodes in the DHT routing table (libtorrent)."""
    lookup_answered: bool | None
    """Whether the node's latest own DHT lookup got any answer; None before the first."""
    head_put: HeadPut | None
    incoming_connections: int
    """Peer connections accepted since start."""
    listen_host: str
    listen_port: int
    external_ip: str | None
    uptime: float
    public_dht: bool
    bootstrap_nodes: int


@dataclass(frozen=True)
class Verdict:
    """The node's reachability in words, with what to do about it."""

    level: Level
    summary: str
    advice: tuple[str, ...]
    addresses: tuple[tuple[str, int], ...]
    """Addresses other clients may be told to connect to (``x.pe`` hints)."""


def usable_listen_host(host: str) -> str | None:
    """Return ``host`` when it is one specific unicast IP address, else None."""
    if host.strip("[]") in WILDCARDS:
        return None
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if ip.is_unspecified or ip.is_multicast:
        return None
    return ip.compressed


def reachable_addresses(facts: Facts) -> tuple[tuple[str, int], ...]:
    """Return the addresses peers can connect to: the listen address, an external one seen."""
    if not 0 < facts.listen_port < 65536:
        return ()
    found: list[tuple[str, int]] = []
    listen = usable_listen_host(facts.listen_host)
    if listen is not None:
        found.append((listen, facts.listen_port))
    external = usable_listen_host(facts.external_ip or "")
    if external is not None and facts.incoming_connections > 0 and external != listen:
        found.append((external, facts.listen_port))
    return tuple(found)


def judge(facts: Facts) -> Verdict:
    """Return how reachable the node is, and advice when it is not."""
    addresses = reachable_addresses(facts)
    nodes = counted(facts.dht_nodes, "DHT node")
    put = facts.head_put
    if facts.dht_nodes == 0:
        evidence = facts.lookup_answered is False or (put is not None and put.stored == 0)
        if not evidence and facts.uptime < STARTING_GRACE:
            return Verdict(Level.STARTING, "Joining the DHT…", (), addresses)
        return Verdict(
            Level.OFFLINE,
            "Offline: no DHT node is reachable, so nobody can find your posts or this node.",
            _dht_advice(facts),
            addresses,
        )
    if put is not None and put.stored == 0:
        return Verdict(
            Level.OFFLINE,
            f"Offline: your newest head (seq {put.seq}) is stored on no DHT node, so "
            "followers cannot find your newest posts.",
            (
                f"The node keeps trying. {nodes.capitalize()} in the routing table but none "
                "accepted the head: check that UDP traffic from this machine is not blocked.",
            ),
            addresses,
        )
    head = f"; your head is on {counted(put.stored, 'DHT node')}" if put is not None else ""
    if facts.incoming_connections == 0 and facts.uptime >= INCOMING_GRACE:
        return Verdict(
            Level.LIMITED,
            f"Limited: {nodes}{head}, but no peer has connected to this node.",
            (_port_advice(facts),),
            addresses,
        )
    return Verdict(Level.ONLINE, f"Online: {nodes}{head}.", (), addresses)


def _dht_advice(facts: Facts) -> tuple[str, ...]:
    if not facts.public_dht and facts.bootstrap_nodes == 0:
        return (
            "This node runs a private swarm without bootstrap nodes: start it with "
            "--bootstrap HOST:PORT of another node of the swarm.",
        )
    if not facts.public_dht:
        return (
            f"None of the {counted(facts.bootstrap_nodes, 'bootstrap node')} answers: check "
            "that they run and that --bootstrap names their BitTorrent address (IP:PORT).",
        )
    return (
        "Check the internet connection, and that a firewall lets UDP through on port "
        f"{facts.listen_port} (the DHT).",
        "The public DHT is joined through its bootstrap routers; --bootstrap HOST:PORT adds "
        "another node to join through.",
    )


def _port_advice(facts: Facts) -> str:
    return (
        f"If this machine is behind a router, forward TCP and UDP port {facts.listen_port} to "
        "it (or enable UPnP or NAT-PMP on the router); until then only peers that accept "
        "connections themselves can fetch from you."
    )

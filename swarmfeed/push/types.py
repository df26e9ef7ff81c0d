"""The push service's configuration and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from swarmfeed.core.push.children import ChildLimits
from swarmfeed.core.push.parents import ParentPolicy
from swarmfeed.push.rpc import RpcLimits
from swarmfeed.push.udp import Address


@dataclass(frozen=True)
class PushConfig:
    """Where the channel listens and its limits and timings."""

    host: str = "0.0.0.0"  # noqa: S104 - the node's listen host is passed in
    port: int = 0
    fallback: bool = True
    """Bind any free port when ``port`` is busy (for the default port, not a configured one)."""
    children: ChildLimits = field(default_factory=ChildLimits)
    parents: ParentPolicy = field(default_factory=ParentPolicy)
    rpc: RpcLimits = field(default_factory=RpcLimits)
    announce_interval: float = 1200.0
    """Seconds between announcements at a rendezvous (libtorrent forgets them after 45 min)."""
    relay_rate: float = 5.0
    relay_burst: float = 10.0
    """Heads of one author relayed per second; a newer head waits for the bucket, never lost."""
    unknown_hops: int = 8
    """The ``hops`` sent with a head learned outside the channel by a node without a path."""
    reoffer_after: float = 2.0
    reoffers: int = 5
    """A pushed head the follower has not stored ``reoffer_after`` s later is offered again,
    with the pause doubling, up to ``reoffers`` times (a head check can fail transiently)."""


@dataclass(frozen=True)
class LiveStatus:
    """How new heads of a followed author reach this node."""

    live: bool
    """Subscribed to a holder with a path to the author: new heads are pushed."""
    path_length: int | None
    """Hops from the author (1: the author's node pushes to us directly)."""
    parents: int


@dataclass(frozen=True)
class PushStats:
    """Counters of the channel since start."""

    endpoint: Address | None
    own_pushes: int
    """Push messages this node sent for heads its own author signed."""
    pushes_sent: int
    heads_received: int
    duplicates: int
    subscribers: int
    refused: dict[str, int]

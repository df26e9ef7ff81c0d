"""Seeding policy: how the session chokes and which torrents are super-seeded (pure logic).

A viral post is the case that matters: one author holds the only copy of a fresh media torrent
and many followers want it at once. Every byte the author uploads twice is a byte the followers
could have traded among themselves, so the author should send each piece out about once and
let the swarm multiply it (BEP 16 super seeding aims at exactly that), while still keeping its
upload link busy (the fluid-model bound assumes the author uploads at full rate until the last
follower is done). The engine gathers the facts below from libtorrent every second and applies
what these functions decide; nothing here knows libtorrent or does I/O.

The presets were measured with ``scripts/bench_viral.py`` (docs/performance.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from swarmfeed.errors import InvalidInput

UNLIMITED = -1
"""``max_uploads`` meaning: no per-torrent cap on unchoked peers (the session limit rules)."""


class SeedPolicy(enum.StrEnum):
    """A named seeding policy (``swarmfeed node --seed-policy``)."""

    PLAIN = "plain"
    """libtorrent's defaults: round-robin seed choking, 8 unchoke slots, no super seeding."""
    SUPER = "super"
    """BEP 16 super seeding of the author's own media for as long as it is seeded."""
    ADAPTIVE = "adaptive"
    """The author super-seeds its media while the post is fresh (the burst of followers), then
    seeds normally; libtorrent's choking."""


class SeedChoking(enum.StrEnum):
    """Which peers a seed unchokes (libtorrent ``seed_choking_algorithm``)."""

    ROUND_ROBIN = "round_robin"
    FASTEST_UPLOAD = "fastest_upload"
    ANTI_LEECH = "anti_leech"


@dataclass(frozen=True)
class SessionTuning:
    """Session-wide choking parameters (BEP 3 choking; libtorrent settings of the same names)."""

    unchoke_slots: int
    """Peers unchoked at once across the session (``unchoke_slots_limit``)."""
    unchoke_interval: int
    """Seconds between choker rounds (``unchoke_interval``; libtorrent's default is 15)."""
    optimistic_unchoke_interval: int
    """Seconds between optimistic unchokes (``optimistic_unchoke_interval``)."""
    seed_choking: SeedChoking
    """How a seeding torrent picks the peers it unchokes."""


@dataclass(frozen=True)
class TorrentFacts:
    """What the engine knows about one torrent when the policy is applied."""

    authored: bool
    """This node created the torrent (its own post's media or page)."""
    hybrid: bool
    """The torrent has a v2 info hash (BEP 52 hybrid); feed pages are v1-only."""
    age: float
    """Seconds since the torrent was added to this session."""
    seeding: bool
    """This node holds every piece."""
    peers: int
    """Connected peers."""
    distributed_copies: float
    """Complete copies held by the connected peers, fraction included (-1 when unknown);
    below 1.0 some piece exists only here as far as the connected peers show."""


@dataclass(frozen=True)
class TorrentTuning:
    """Per-torrent seeding parameters."""

    super_seeding: bool
    """BEP 16: reveal one piece per peer, a new one only after it spread to another peer."""
    max_uploads: int = UNLIMITED
    """Unchoked peers for this torrent at most (UNLIMITED: only the session limit)."""


FRESH_SECONDS = 600.0
"""A torrent younger than this is a fresh post: the burst of followers arrives in this window."""

LIBTORRENT_DEFAULTS = SessionTuning(
    unchoke_slots=8,
    unchoke_interval=15,
    optimistic_unchoke_interval=30,
    seed_choking=SeedChoking.ROUND_ROBIN,
)

PLAIN_TORRENT = TorrentTuning(super_seeding=False)


def parse_policy(text: str) -> SeedPolicy:
    """Return the policy named ``text``; raise InvalidInput for an unknown name."""
    try:
        return SeedPolicy(text.strip().lower())
    except ValueError:
        names = ", ".join(policy.value for policy in SeedPolicy)
        raise InvalidInput(f"unknown seed policy {text!r} (one of {names})") from None


def session_tuning(policy: SeedPolicy) -> SessionTuning:
    """Return the session-wide choking parameters of ``policy``."""
    del policy  # the policies differ per torrent; session choking stays libtorrent's
    return LIBTORRENT_DEFAULTS


def torrent_tuning(policy: SeedPolicy, facts: TorrentFacts) -> TorrentTuning:
    """Decide the seeding parameters of one torrent under ``policy``."""
    # Only the author's own complete media is ever super-seeded: a follower that super-seeds
    # hides pieces from other followers, and feed pages are single small pieces.
    candidate = facts.authored and facts.seeding and facts.hybrid
    if policy is SeedPolicy.PLAIN or not candidate:
        return PLAIN_TORRENT
    if policy is SeedPolicy.SUPER:
        return TorrentTuning(super_seeding=True)
    # Adaptive: super-seed (BEP 16) while the post is fresh, from the moment it exists. Switched
    # on only once followers were connected (after they had seen our full bitfield), it made the
    # default benchmark 2-3x slower (45-75 s instead of 22 s; docs/performance.md).
    return TorrentTuning(super_seeding=facts.age < FRESH_SECONDS)

"""Seeding policy: how the session serves requests and how fast a fresh post is seeded (pure logic).

A viral post is the case that matters: one author holds the only copy of a fresh media torrent
and many followers want it at once. Every byte the author uploads twice is a byte the followers
could have traded among themselves, so the author should send each piece out about once and let
the swarm multiply it, while keeping its upload link busy (the fluid-model bound assumes the
author uploads at full rate until the swarm holds the file). The engine gathers the facts below
from libtorrent every second and applies what these functions decide; nothing here knows
libtorrent or does I/O.

The presets were measured with ``scripts/bench_viral.py`` (docs/performance.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from swarmfeed.errors import InvalidInput

UNLIMITED = -1
"""``max_uploads`` meaning: no per-torrent cap on unchoked peers (the session limit rules)."""

NO_LIMIT = 0
"""``upload_limit`` meaning: the torrent is only held to the session's upload limit."""


class SeedPolicy(enum.StrEnum):
    """A named seeding policy (``swarmfeed node --seed-policy``)."""

    PLAIN = "plain"
    """libtorrent's defaults throughout."""
    SUPER = "super"
    """BEP 16 super seeding of the author's own media for as long as it is seeded."""
    ADAPTIVE = "adaptive"
    """Tuned for the burst of a fresh post: quick rechoking and rarest-first picking while a
    fresh media swarm is active; an author serving its fresh post accepts few queued requests
    per peer and steps back once every piece is out (docs/performance.md)."""


class SeedChoking(enum.StrEnum):
    """Which peers a seed unchokes (libtorrent ``seed_choking_algorithm``)."""

    ROUND_ROBIN = "round_robin"
    FASTEST_UPLOAD = "fastest_upload"
    ANTI_LEECH = "anti_leech"


@dataclass(frozen=True)
class SessionTuning:
    """Session-wide parameters (BEP 3 choking, piece picking, request queues; libtorrent's
    settings of the same meaning)."""

    unchoke_slots: int = 8
    """Peers unchoked at once across the session (``unchoke_slots_limit``)."""
    unchoke_interval: int = 15
    """Seconds between choker rounds (``unchoke_interval``)."""
    optimistic_unchoke_interval: int = 30
    """Seconds between optimistic unchokes (``optimistic_unchoke_interval``)."""
    seed_choking: SeedChoking = SeedChoking.ROUND_ROBIN
    """How a seeding torrent picks the peers it unchokes."""
    max_queued_requests: int = 2000
    """Block requests (16 KiB each) one peer may have queued with us; beyond it they are
    rejected (BEP 6) and the peer asks someone else (``max_allowed_in_request_queue``)."""
    whole_pieces_threshold: int = 20
    """A peer that could send a whole piece within this many seconds is asked for runs of
    contiguous pieces instead of the rarest ones; 0 turns that off (``whole_pieces_threshold``)."""
    tick_interval_ms: int = 500
    """How often upload quota is handed out under a rate limit (``tick_interval``)."""


@dataclass(frozen=True)
class TorrentFacts:
    """What the engine knows about one torrent when the policy is applied."""

    authored: bool
    """This node created the torrent (its own post's media or page)."""
    hybrid: bool
    """The torrent has a v2 info hash (BEP 52 hybrid): post media; feed pages are v1-only."""
    age: float
    """Seconds since the torrent was added to this session."""
    seeding: bool
    """This node holds every piece."""
    peers: int
    """Connected peers."""
    least_held: int = -1
    """Fewest peers known to hold any one piece: connected peers by their bitfields, plus the
    seeds known (two seeds drop their redundant connection, so a follower that finished is no
    longer connected). 0 while some piece is only here; -1 when not counted: the engine counts
    it for the author's fresh media only."""
    session_upload_limit: int = 0
    """The node's upload limit in bytes/s (0: none)."""
    uploaded_copies: float = 0.0
    """Bytes of the torrent this node uploaded in this session, in copies of the torrent."""
    downloaders: int = -1
    """Connected peers that lack some piece (-1: not counted)."""
    stepped_back: bool = False
    """This node already stepped back from serving the torrent."""


@dataclass(frozen=True)
class TorrentTuning:
    """Per-torrent seeding parameters."""

    super_seeding: bool = False
    """BEP 16: reveal one piece per peer, a new one only after it spread to another peer."""
    max_uploads: int = UNLIMITED
    """Unchoked peers for this torrent at most (UNLIMITED: only the session limit)."""
    upload_limit: int = NO_LIMIT
    """Bytes/s this torrent may upload (NO_LIMIT: only the session limit)."""


FRESH_SECONDS = 600.0
"""A torrent younger than this is a fresh post: the burst of followers arrives in this window."""

LIBTORRENT_DEFAULTS = SessionTuning()

FRESH_SWARM = SessionTuning(
    # Rechoke every 2 s, not 15: a post's swarm lives for seconds, and a follower that keeps
    # uploading to peers that already hold its pieces leaves its link idle.
    unchoke_interval=2,
    # Rarest first (BEP 3) for every pick: runs of contiguous pieces make followers ask the
    # author for pieces another follower is already passing on.
    whole_pieces_threshold=0,
    # Quota every 100 ms: a piece passed along one hop per 500 ms tick spreads too slowly.
    tick_interval_ms=100,
)
"""Session tuning while this node takes part in a fresh post's swarm (adaptive policy)."""

SERVING_FRESH_POST = replace(FRESH_SWARM, max_queued_requests=4)
"""... and while it is the author of that post: each peer may queue one 64 KiB piece with us.
Deep request queues are what make a plain seed send pieces twice: every follower queues
seconds' worth of rare pieces with the author, the same ones as its neighbours."""

STEP_BACK_HOLDERS = 1
"""Every piece held by this many connected peers: the followers can finish among themselves."""

STEP_BACK_COPIES = 1.0
"""... or this many copies uploaded and no downloader left connected: whoever wanted the post
got it, and later followers get it from them."""

STEP_BACK_SHARE = 8
"""A stepped-back author uploads the post at 1/8 of its upload limit ..."""

STEP_BACK_RATE = 128 * 1024
"""... or at 128 KiB/s when it has no upload limit."""

PLAIN_TORRENT = TorrentTuning()


def parse_policy(text: str) -> SeedPolicy:
    """Return the policy named ``text``; raise InvalidInput for an unknown name."""
    try:
        return SeedPolicy(text.strip().lower())
    except ValueError:
        names = ", ".join(policy.value for policy in SeedPolicy)
        raise InvalidInput(f"unknown seed policy {text!r} (one of {names})") from None


def is_fresh_media(facts: TorrentFacts) -> bool:
    """Return True for a fresh post's media torrent, ours or followed."""
    # Feed pages are v1-only and one small piece: their swarms need no tuning.
    return facts.hybrid and facts.age < FRESH_SECONDS


def is_fresh_own_media(facts: TorrentFacts) -> bool:
    """Return True for the author's own complete media while the post is fresh."""
    return is_fresh_media(facts) and facts.authored and facts.seeding


def session_tuning(
    policy: SeedPolicy, *, fresh_swarm: bool = False, serving_fresh_post: bool = False
) -> SessionTuning:
    """Return the session-wide parameters of ``policy``.

    ``fresh_swarm``: some torrent is fresh media (``is_fresh_media``); ``serving_fresh_post``:
    some torrent is our own fresh media (``is_fresh_own_media``).
    """
    if policy is not SeedPolicy.ADAPTIVE:
        return LIBTORRENT_DEFAULTS
    if serving_fresh_post:
        return SERVING_FRESH_POST
    return FRESH_SWARM if fresh_swarm else LIBTORRENT_DEFAULTS


def torrent_tuning(policy: SeedPolicy, facts: TorrentFacts) -> TorrentTuning:
    """Decide the seeding parameters of one torrent under ``policy``."""
    own_media = facts.authored and facts.seeding and facts.hybrid
    if policy is SeedPolicy.PLAIN or not own_media:
        return PLAIN_TORRENT
    if policy is SeedPolicy.SUPER:
        return TorrentTuning(super_seeding=True)
    if not is_fresh_own_media(facts):
        return PLAIN_TORRENT
    spread = facts.least_held >= STEP_BACK_HOLDERS
    served = facts.uploaded_copies >= STEP_BACK_COPIES and facts.downloaders == 0
    # Once stepped back, the author stays back while the post is fresh: followers that finish
    # drop their connection to it (two seeds keep none), so the count of holders it sees
    # shrinks although the pieces are still out there.
    if not (spread or served or facts.stepped_back):
        return PLAIN_TORRENT
    # Every piece is out: the followers finish among themselves; we keep a trickle for peers
    # that find nobody else. (Waiting for two holders steps back only as the followers finish:
    # the last new pieces leave the author at the very end.)
    if facts.session_upload_limit > 0:
        return TorrentTuning(upload_limit=max(1, facts.session_upload_limit // STEP_BACK_SHARE))
    return TorrentTuning(upload_limit=STEP_BACK_RATE)


def least_held(bitfields: list[list[bool]], pieces: int) -> int:
    """Return the fewest holders of any of ``pieces`` among ``bitfields`` (one per peer)."""
    if pieces <= 0:
        return 0
    counts = [0] * pieces
    for bits in bitfields:
        for index, held in enumerate(bits[:pieces]):
            if held:
                counts[index] += 1
    return min(counts)

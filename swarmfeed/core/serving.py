"""Where a seeding node's upload goes first: to swarms with the fewest other seeds (pure).

An always-on node (a seedbox) seeds far more than its link can serve at once. Its upload is
worth most where nobody else can give the same bytes: a fresh viral post whose other holders
are still downloading, or an old post whose author and followers are offline, where it is the
only seed. A swarm that already has other seeds is served by them. So among the torrents this
node seeds to someone right now, swarms with enough other seeds ("covered") are held to a
small background share of the upload and two unchoke slots each, and the rest of the upload and
the unchoke slots (BEP 3 choking) go to the scarce ones. When no scarce swarm is being served,
nothing is held back.

The engine gathers the facts from libtorrent (connected peers, connected and known seeds, the
pieces the downloaders hold against the bytes this node sent) for the torrents with peers, and
applies the tunings returned here (per-torrent upload limit and
``max_uploads``). Facts and decisions are swarmfeed types; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from swarmfeed.core.policy import NO_LIMIT, PLAIN_TORRENT, TorrentTuning

COVERED_SEEDS = 2
"""Other seeds at which a swarm is covered whatever its number of downloaders ..."""
BACKGROUND_SHARE = 8
"""... the covered swarms together upload at 1/8 of the node's upload limit ..."""
BACKGROUND_UNCHOKES = 2
"""... with two unchoked peers each, libtorrent's least (the rest of the session's unchoke
slots serve the scarce)."""
MIN_BACKGROUND_RATE = 16 * 1024
"""A covered swarm's share never falls below 16 KiB/s (it keeps trading pieces)."""
OUTSIDE_COVERED = 0.5
"""A swarm whose downloaders hold at least this share of bytes this node never sent them has
another source (seeds that do not connect to us: seeds drop connections to each other)."""


@dataclass(frozen=True)
class SwarmFacts:
    """One torrent this node seeds, as the serving policy sees it."""

    key: str
    downloaders: int
    """Connected peers that do not have every piece yet."""
    other_seeds: int
    """Other seeds of the swarm: connected, or known in the peer list (seeds drop their
    connection to each other, so a connected count alone misses them)."""
    outside: float = 0.0
    """Share (0-1) of the distinct pieces the connected downloaders hold beyond what this node
    has uploaded in this swarm: it came from another source. Trading among downloaders does
    not raise it (they can only pass on what some source sent)."""


def is_covered(facts: SwarmFacts) -> bool:
    """Return True when the swarm's other seeds can serve its downloaders without us."""
    return (
        facts.other_seeds >= COVERED_SEEDS
        or (facts.other_seeds >= 1 and facts.other_seeds >= facts.downloaders)
        or facts.outside >= OUTSIDE_COVERED
    )


def serving_plan(swarms: Sequence[SwarmFacts], upload_limit: int) -> dict[str, TorrentTuning]:
    """Return the tuning of every swarm in ``swarms`` (torrents this node seeds to someone).

    ``upload_limit`` is the node's upload limit in bytes/s (0: none; then only unchoke slots
    steer the upload). Swarms without downloaders, and every swarm while no scarce swarm has
    downloaders, get PLAIN_TORRENT.
    """
    wanted = [s for s in swarms if s.downloaders > 0]
    scarce = [s for s in wanted if not is_covered(s)]
    covered = [s for s in wanted if is_covered(s)]
    plan = {s.key: PLAIN_TORRENT for s in swarms}
    if not scarce or not covered:
        return plan
    share = NO_LIMIT
    if upload_limit > 0:
        share = max(MIN_BACKGROUND_RATE, upload_limit // BACKGROUND_SHARE // len(covered))
    for swarm in covered:
        plan[swarm.key] = TorrentTuning(max_uploads=BACKGROUND_UNCHOKES, upload_limit=share)
    return plan

"""The author's own log: which post seq and head seq come next (protocol.md §3, §6; pure).

An author must never fork its own feed: a post seq (§3) names one post forever, and a BEP 44
head seq (§6) only grows. The node keeps several durable records that each say something about
how far the log got — the ``feed/head_seq`` file written before every signature, the signed head
on disk, the database's copy of that head, the signed posts written ahead of publication, and
the head found in the DHT. These functions combine whatever is known into the next seqs, or say
why publishing must wait or refuse. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from swarmfeed.errors import SwarmfeedError


class NotReady(SwarmfeedError):
    """Publishing has to wait: a source that could show a higher seq was not consulted yet."""


class Blocked(SwarmfeedError):
    """Publishing now would fork the author's own log; the message says why and what helps."""


@dataclass(frozen=True)
class HeadSeen:
    """A signed head of ours that some source holds: its BEP 44 seq and post count ``n``."""

    seq: int
    count: int


@dataclass(frozen=True)
class OwnLogFacts:
    """What each durable source says about the author's own log."""

    seq_file: int | None
    """The last head seq signed (``feed/head_seq``); None when the file is missing."""
    head_file: HeadSeen | None
    """The latest signed head on disk (``feed/head.bencode``)."""
    database: HeadSeen | None
    """The database's record of our latest head."""
    dht: HeadSeen | None
    """The newest verified head of ours found in the DHT since start."""
    dht_answered: bool
    """A lookup of our head got answers from DHT nodes since start (found or not)."""
    posts_written: int
    """Signed posts held on this node without a gap: seqs 0 .. posts_written - 1."""


@dataclass(frozen=True)
class PublishPlan:
    """Where the log stands and what the next publication must use."""

    next_post_seq: int
    """The seq of the next post (== posts held)."""
    published: int
    """Posts covered by the newest head any source shows."""
    last_head_seq: int
    """The highest head seq any source shows; the next head is signed above it."""

    @property
    def next_head_seq(self) -> int:
        """Return the seq of the next head: strictly above every seq seen (§6)."""
        return self.last_head_seq + 1

    @property
    def unpublished(self) -> range:
        """Return the seqs of posts written ahead but not covered by a head (to roll forward)."""
        return range(self.published, self.next_post_seq)


def heads_seen(facts: OwnLogFacts) -> list[HeadSeen]:
    """Return every head the sources hold."""
    return [h for h in (facts.head_file, facts.database, facts.dht) if h is not None]


def plan_publication(facts: OwnLogFacts) -> PublishPlan:
    """Return the next seqs, or raise NotReady/Blocked rather than fork the log.

    The seq file is written before every head is signed, so while it exists it is at least the
    last seq used. When it is missing (the feed folder lost, a key copied to a new machine) only
    the DHT can show a head signed elsewhere or before the loss: publishing waits for a lookup
    that got answers. A head covering more posts than this node holds means posts are missing
    here; signing the next post would give an already used seq to another post.
    """
    if facts.seq_file is None and not facts.dht_answered:
        raise NotReady(
            "the record of our last head seq (feed/head_seq) is missing: waiting for a DHT lookup"
            " of our head so no seq is reused"
        )
    heads = heads_seen(facts)
    last_seq = max([facts.seq_file or 0, *(h.seq for h in heads)])
    published = max([0, *(h.count for h in heads)])
    if facts.posts_written < published:
        raise Blocked(
            f"our newest head covers {published} posts but this node holds only"
            f" {facts.posts_written} of them without a gap; publishing now would reuse seq"
            f" {facts.posts_written}. The missing pages are fetched from followers when they"
            " are online."
        )
    return PublishPlan(facts.posts_written, published, last_seq)


def contiguous_count(seqs: Iterable[int]) -> int:
    """Return how many of 0, 1, 2, ... are in ``seqs`` before the first gap."""
    present = set(seqs)
    count = 0
    while count in present:
        count += 1
    return count

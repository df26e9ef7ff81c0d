"""What a node fetches and keeps on its own, and in which order (pure).

A followed author decides what is published, not how much a follower downloads or stores:
media is fetched automatically only up to a per-post size, and what the node holds stays
within a per-author budget and an optional total storage budget. When a budget is reached,
room is made by evicting the least valuable media of followed authors (oldest and least
requested, ``keep_value``); a new bundle that is worth less than everything it would displace
is not fetched. Anything not held is fetched when a person opens it. Pages are never counted
or evicted here (they are small and always kept), nor is the node's own media; a mirrored
author's media is fetched whole and never evicted.

Fetches run newest first with a bounded number at a time; a fresh post (and anything a person
asked for) goes ahead of a back catalogue.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from swarmfeed.core.policy import FRESH_SECONDS
from swarmfeed.core.units import format_size

MiB = 1024 * 1024
GiB = 1024 * MiB

DEFAULT_MAX_POST_BYTES = 256 * MiB
"""Largest media bundle fetched without anyone opening it."""
DEFAULT_AUTHOR_BYTES = 2 * GiB
"""Media bytes fetched automatically per followed author."""
DEFAULT_ACTIVE = 6
"""Media fetches running at once for a back catalogue."""
SMALL_ACTIVE = 32
"""Back-catalogue fetches at once while the bundles are small (``small_bytes`` in flight)."""
SMALL_BYTES = 32 * MiB
"""Bytes of back-catalogue bundles in flight up to which more than ``active`` may run."""
DEFAULT_URGENT_EXTRA = 4
"""Further fetches allowed at once for fresh posts and media a person opened."""
REQUEST_WORTH_SECONDS = 7 * 24 * 3600
"""What one request of a bundle (a person opening it here, or a whole copy served to peers)
is worth in age: it keeps the bundle as long as being a week newer would."""


class Priority(enum.IntEnum):
    """How urgently a media bundle is wanted (higher first)."""

    BACKLOG = 0
    """An older post of a followed author."""
    FRESH = 1
    """A post published in the last FRESH_SECONDS: its swarm is forming now."""
    OPENED = 2
    """A person opened it (the web UI asked for its file)."""


@dataclass(frozen=True)
class FetchBudget:
    """Limits on what is downloaded and kept without a person asking (node settings)."""

    max_post_bytes: int = DEFAULT_MAX_POST_BYTES
    """Largest bundle of a followed author fetched on its own."""
    author_bytes: int = DEFAULT_AUTHOR_BYTES
    """Media bytes held per followed author (unless ``authors`` names another budget)."""
    active: int = DEFAULT_ACTIVE
    urgent_extra: int = DEFAULT_URGENT_EXTRA
    small_active: int = SMALL_ACTIVE
    """Fetches at once while the bundles in flight are small: a small bundle's fetch costs a
    round trip or two of peer connection and metadata exchange (BEP 9), not bandwidth, so a
    catalogue of small posts is fetched in parallel; large ones keep to ``active``."""
    small_bytes: int = SMALL_BYTES
    total_bytes: int = 0
    """Media bytes the node holds in all (own, mirrored, followed); 0: no total budget."""
    authors: Mapping[str, int] = field(default_factory=dict)
    """Per-author budgets by hex key, instead of ``author_bytes``."""

    @property
    def most_active(self) -> int:
        """Return how many fetches may ever run at once."""
        return max(self.active, self.small_active) + self.urgent_extra

    def author_limit(self, author: str) -> int:
        """Return the media bytes ``author`` may hold here."""
        return self.authors.get(author, self.author_bytes)


@dataclass(frozen=True)
class Usage:
    """Media bytes held or on their way (queued, fetching, complete)."""

    total: int = 0
    """Of every author: own, mirrored and followed."""
    author: int = 0
    """Of the author the decision is about."""


@dataclass(frozen=True)
class FetchDecision:
    """Whether a bundle is fetched now or waits for a person to open it, and why.

    A bundle fetched may first need room: ``free_author`` bytes of the same author's held
    media and ``free_total`` bytes of any followed author's (``choose_evictions``).
    """

    automatic: bool
    reason: str | None = None
    free_author: int = 0
    free_total: int = 0


def decide_fetch(
    size: int,
    usage: Usage | int,
    budget: FetchBudget,
    *,
    author: str = "",
    mirrored: bool = False,
) -> FetchDecision:
    """Decide whether a bundle of ``size`` bytes of ``author`` is fetched without a person asking.

    ``usage`` is what is already held or queued (an int: the author's bytes alone). A mirrored
    author's bundle is always fetched (room is made in the total budget where it can be).
    """
    if isinstance(usage, int):
        usage = Usage(author=usage)
    total = budget.total_bytes
    if mirrored:
        return FetchDecision(True, free_total=max(0, usage.total + size - total) if total else 0)
    if size > budget.max_post_bytes:
        return FetchDecision(
            False,
            f"{format_size(size)} is over the {format_size(budget.max_post_bytes)} "
            "automatic fetch limit per post",
        )
    limit = budget.author_limit(author)
    if size > limit:
        return FetchDecision(
            False, f"{format_size(size)} is over the author's budget of {format_size(limit)}"
        )
    if total and size > total:
        return FetchDecision(
            False, f"{format_size(size)} is over the storage budget of {format_size(total)}"
        )
    return FetchDecision(
        True,
        free_author=max(0, usage.author + size - limit),
        free_total=max(0, usage.total + size - total) if total else 0,
    )


@dataclass(frozen=True)
class Holding:
    """A followed author's bundle held here, as eviction sees it."""

    infohash: str
    author: str
    size: int
    sort_time: int
    """When the post was published (protocol.md §3 ``created``, never after its arrival)."""
    requests: int = 0
    """Times a person opened it here."""
    last_requested: int = 0
    """When a person last opened it (0: never)."""
    served_copies: float = 0.0
    """Bytes uploaded to peers, in copies of the bundle."""


def keep_value(holding: Holding) -> float:
    """Return how much keeping ``holding`` is worth: evict the lowest first.

    Its last use (publication or a person opening it) plus REQUEST_WORTH_SECONDS for each
    request: old and unrequested media goes first, a much requested old post stays.
    """
    demand = holding.requests + holding.served_copies
    return max(holding.sort_time, holding.last_requested) + REQUEST_WORTH_SECONDS * demand


def eviction_order(holdings: Iterable[Holding]) -> list[Holding]:
    """Return ``holdings`` least valuable first (ties: oldest first, then by infohash)."""
    return sorted(holdings, key=lambda h: (keep_value(h), h.sort_time, h.infohash))


@dataclass(frozen=True)
class Evictions:
    """The bundles to evict to free room, and whether they free enough."""

    infohashes: tuple[str, ...]
    freed: int
    enough: bool


def choose_evictions(
    need: int, candidates: Iterable[Holding], *, below: float | None = None
) -> Evictions:
    """Choose the least valuable ``candidates`` that together free ``need`` bytes.

    With ``below`` only bundles worth less than it are taken (a new bundle displaces only what
    is worth less than itself); when they do not free enough, ``enough`` is False and the
    caller fetches nothing (or, enforcing a budget, evicts them all).
    """
    chosen: list[str] = []
    freed = 0
    for holding in eviction_order(candidates):
        if freed >= need:
            break
        if below is not None and keep_value(holding) >= below:
            break
        chosen.append(holding.infohash)
        freed += holding.size
    return Evictions(tuple(chosen), freed, freed >= need)


def over_budget(usage: Usage, budget: FetchBudget, author: str | None = None) -> int:
    """Return the bytes by which ``usage`` exceeds the total (or ``author``'s) budget."""
    if author is not None:
        return max(0, usage.author - budget.author_limit(author))
    return max(0, usage.total - budget.total_bytes) if budget.total_bytes else 0


def order_time(created: int, received: int) -> int:
    """Return the time a post is ordered by: its ``created``, never later than its arrival.

    ``created`` is the author's claim (protocol.md §3); clamping it to ``received`` keeps an
    author from placing posts ahead of everyone else's by dating them in the future.
    """
    return min(created, received)


def priority(created: int, received: int, now: float) -> Priority:
    """Return the fetch priority of a post's media when it is stored."""
    if now - order_time(created, received) < FRESH_SECONDS:
        return Priority.FRESH
    return Priority.BACKLOG


def may_start(
    running: int, wanted: Priority, budget: FetchBudget, in_flight: int = 0, size: int = 0
) -> bool:
    """Return whether another fetch of priority ``wanted`` may start with ``running`` running.

    A back catalogue fills ``active`` slots, or up to ``small_active`` while the bytes in
    flight (``in_flight`` of the running fetches plus this one's ``size``) stay within
    ``small_bytes``; a fresh post or opened media may start while fewer than ``most_active``
    run, so it never waits behind the backlog.
    """
    if wanted is not Priority.BACKLOG:
        return running < budget.most_active
    if running < budget.active:
        return True
    return running < budget.small_active and in_flight + size <= budget.small_bytes

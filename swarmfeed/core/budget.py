"""What a follower fetches on its own, and in which order (pure).

A followed author decides what is published, not how much a follower downloads: media is
fetched automatically only up to a per-post size and a per-author byte budget; anything beyond
is fetched when a person opens it. Fetches run newest first with a bounded number at a time;
a fresh post (and anything a person asked for) goes ahead of a back catalogue.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

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
DEFAULT_URGENT_EXTRA = 4
"""Further fetches allowed at once for fresh posts and media a person opened."""


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
    """Limits on what is downloaded without a person asking (node settings)."""

    max_post_bytes: int = DEFAULT_MAX_POST_BYTES
    author_bytes: int = DEFAULT_AUTHOR_BYTES
    active: int = DEFAULT_ACTIVE
    urgent_extra: int = DEFAULT_URGENT_EXTRA


@dataclass(frozen=True)
class FetchDecision:
    """Whether a bundle is fetched now or waits for a person to open it, and why."""

    automatic: bool
    reason: str | None = None


def decide_fetch(size: int, author_used: int, budget: FetchBudget) -> FetchDecision:
    """Decide whether a followed author's media of ``size`` bytes is fetched automatically.

    ``author_used`` is what is already fetched or queued for that author.
    """
    if size > budget.max_post_bytes:
        return FetchDecision(
            False,
            f"{format_size(size)} is over the {format_size(budget.max_post_bytes)} "
            "automatic fetch limit per post",
        )
    if author_used + size > budget.author_bytes:
        return FetchDecision(
            False,
            f"the author's automatic fetch budget of {format_size(budget.author_bytes)} is used up",
        )
    return FetchDecision(True)


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


def may_start(running: int, wanted: Priority, budget: FetchBudget) -> bool:
    """Return whether another fetch of priority ``wanted`` may start with ``running`` running.

    A back catalogue fills at most ``active`` slots; a fresh post or opened media may start
    while fewer than ``active + urgent_extra`` run, so it never waits behind the backlog.
    """
    limit = budget.active if wanted is Priority.BACKLOG else budget.active + budget.urgent_extra
    return running < limit

"""The holder's side: who subscribed to which author, bounded per author, per host and total.

A subscription is a promise: every live subscriber of an author receives every new head of it,
so the list per author is capped at the fan-out (``per_author``, default 8) and the number of
messages a node sends per new head never depends on how many follow the author. A subscriber
that does not renew within ``ttl`` seconds is forgotten.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

Address = tuple[str, int]


class Added(enum.Enum):
    """The outcome of a subscription request that carried a valid token."""

    ADDED = "added"
    RENEWED = "renewed"
    FULL = "full"
    """``per_author`` subscribers of this author already."""
    HOST_LIMIT = "host limit"
    """``per_host`` subscriptions of this author from the sender's IP address already."""
    TOTAL_LIMIT = "total limit"
    """``total`` subscriptions over all authors already."""


@dataclass(frozen=True)
class ChildLimits:
    """Bounds of the subscriber table."""

    per_author: int = 8
    per_host: int = 2
    total: int = 4096
    ttl: int = 300

    def __post_init__(self) -> None:
        if min(self.per_author, self.per_host, self.total, self.ttl) < 1:
            raise ValueError("every subscriber limit must be positive")


class ChildTable:
    """Subscribers per author with expiry times; expired entries are dropped as they are met."""

    def __init__(self, limits: ChildLimits | None = None) -> None:
        self.limits = limits or ChildLimits()
        self._children: dict[bytes, dict[Address, float]] = {}
        self._total = 0

    def add(self, author: bytes, addr: Address, now: float) -> Added:
        """Add or renew ``addr`` as a subscriber of ``author`` until ``now + ttl``."""
        children = self._live(author, now)
        expires = now + self.limits.ttl
        if addr in children:
            children[addr] = expires
            return Added.RENEWED
        if len(children) >= self.limits.per_author:
            return Added.FULL
        if sum(1 for other in children if other[0] == addr[0]) >= self.limits.per_host:
            return Added.HOST_LIMIT
        if self._total >= self.limits.total:
            self._prune_all(now)
            if self._total >= self.limits.total:
                return Added.TOTAL_LIMIT
        self._children.setdefault(author, children)[addr] = expires
        self._total += 1
        return Added.ADDED

    def remove(self, author: bytes, addr: Address) -> bool:
        """Forget one subscription; return whether it existed."""
        children = self._children.get(author)
        if children is None or children.pop(addr, None) is None:
            return False
        self._total -= 1
        if not children:
            del self._children[author]
        return True

    def drop_author(self, author: bytes) -> int:
        """Forget every subscriber of ``author``; return how many there were."""
        children = self._children.pop(author, {})
        self._total -= len(children)
        return len(children)

    def targets(self, author: bytes, now: float, exclude: Address | None = None) -> list[Address]:
        """Return the live subscribers of ``author`` except ``exclude``, oldest first."""
        return [addr for addr in self._live(author, now) if addr != exclude]

    def count(self, author: bytes, now: float) -> int:
        """Return the number of live subscribers of ``author``."""
        return len(self._live(author, now))

    @property
    def total(self) -> int:
        """Return the number of subscriptions held (some may have expired unnoticed)."""
        return self._total

    def authors(self) -> Iterator[bytes]:
        """Yield every author with at least one subscription entry."""
        yield from list(self._children)

    def _live(self, author: bytes, now: float) -> dict[Address, float]:
        children = self._children.get(author)
        if children is None:
            return {}
        expired = [addr for addr, until in children.items() if until <= now]
        for addr in expired:
            del children[addr]
        self._total -= len(expired)
        if not children:
            del self._children[author]
        return children

    def _prune_all(self, now: float) -> None:
        for author in list(self._children):
            self._live(author, now)

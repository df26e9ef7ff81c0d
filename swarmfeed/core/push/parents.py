"""The subscriber's side: which holders of an author to subscribe to, when to renew, when to look.

A follower keeps ``want`` parents per followed author: nodes holding the author (the author's own
node among them) that push every new head to it. A parent *has a path* when it reported its
distance from the author (``hops``: 0 for the author itself); a parent without one is kept only
until enough parents with a path are found. Candidates come from the author's rendezvous in the
DHT; the ones known to be closest to the author are tried first, unknown ones in random order
(so followers spread over the holders). Everything here is a decision over state and a clock
value passed in: the service performs the I/O and reports back.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from swarmfeed.core.push.wire import MAX_HOPS

Address = tuple[str, int]


@dataclass(frozen=True)
class ParentPolicy:
    """How many parents to keep and the timings of tries, renewals and rendezvous lookups."""

    want: int = 2
    max_candidates: int = 64
    max_attempts: int = 2
    """Subscription attempts to new candidates in flight at once."""
    retry_after: float = 5.0
    """First pause after a candidate or renewal failed; doubles per failure up to max_retry."""
    max_retry: float = 600.0
    full_cooldown: float = 60.0
    """Pause before asking a holder again that said its list is full."""
    provisional_recheck: float = 5.0
    """A parent without a path is asked again this soon (it may have found one meanwhile)."""
    lookup_first: float = 2.0
    """Pause before the second rendezvous lookup while parents are missing; doubles."""
    lookup_max: float = 300.0
    lookup_steady: float = 1200.0
    """Pause between lookups once enough parents are found."""

    def __post_init__(self) -> None:
        if min(self.want, self.max_candidates, self.max_attempts) < 1:
            raise ValueError("want, max_candidates and max_attempts must be positive")


@dataclass
class Candidate:
    """A holder found at the rendezvous."""

    addr: Address
    rank: int
    hops: int | None = None
    retry_at: float = 0.0
    failures: int = 0


@dataclass
class Parent:
    """A holder that accepted our subscription."""

    addr: Address
    token: bytes
    hops: int | None
    expires: float
    renew_at: float
    failures: int = 0
    pathless: int = 0
    """Renewals in a row that reported no path."""


class ParentSet:
    """The parents and candidates of one followed author."""

    def __init__(self, policy: ParentPolicy | None = None, *, rng: random.Random | None = None):
        self.policy = policy or ParentPolicy()
        self._rng = rng or random.Random()
        self._candidates: dict[Address, Candidate] = {}
        self._parents: dict[Address, Parent] = {}
        self._next_lookup = 0.0
        self._lookup_delay = self.policy.lookup_first

    # state -----------------------------------------------------------------------------------

    @property
    def parents(self) -> list[Parent]:
        """Return the current parents."""
        return list(self._parents.values())

    @property
    def candidates(self) -> list[Candidate]:
        """Return the known candidates (parents included)."""
        return list(self._candidates.values())

    def is_parent(self, addr: Address) -> bool:
        """Return whether ``addr`` is one of our parents."""
        return addr in self._parents

    @property
    def good(self) -> list[Parent]:
        """Return the parents with a path to the author, closest first."""
        with_path = [p for p in self._parents.values() if p.hops is not None]
        return sorted(with_path, key=lambda p: p.hops or 0)

    @property
    def live(self) -> bool:
        """Return whether some parent has a path: new heads are pushed to us."""
        return bool(self.good)

    @property
    def path_length(self) -> int | None:
        """Return our distance from the author in hops (1 + the closest parent's), or None."""
        good = self.good
        if not good or good[0].hops is None or good[0].hops + 1 >= MAX_HOPS:
            return None
        return good[0].hops + 1

    @property
    def satisfied(self) -> bool:
        """Return whether ``want`` parents with a path are held."""
        return len(self.good) >= self.policy.want

    # inputs ----------------------------------------------------------------------------------

    def add_candidates(self, addrs: Iterable[Address], now: float) -> int:
        """Remember holders found at the rendezvous; return how many were new."""
        del now
        added = 0
        for addr in addrs:
            if addr in self._candidates:
                continue
            if len(self._candidates) >= self.policy.max_candidates and not self._evict():
                break
            self._candidates[addr] = Candidate(addr, self._rng.randrange(1 << 30))
            added += 1
        return added

    def subscribed(
        self, addr: Address, token: bytes, ttl: int, hops: int | None, now: float
    ) -> bool:
        """Record an accepted subscription; return False if it is not wanted (unsubscribe)."""
        candidate = self._candidate(addr)
        candidate.hops, candidate.failures, candidate.retry_at = hops, 0, 0.0
        parent = self._parents.get(addr)
        if parent is None:
            if not self._wanted(hops):
                return False
            parent = Parent(addr, token, hops, now + ttl, now)
            self._parents[addr] = parent
        parent.token, parent.hops, parent.failures = token, hops, 0
        parent.pathless = 0 if hops is not None else parent.pathless + 1
        parent.expires = now + ttl
        if hops is None:
            # Ask a pathless parent again soon (it may find a path), backing off each time.
            recheck = self.policy.provisional_recheck * 2 ** (parent.pathless - 1)
            parent.renew_at = now + min(recheck, ttl / 2)
        else:
            parent.renew_at = now + ttl / 2
        return True

    def refused(self, addr: Address, now: float, *, full: bool) -> None:
        """Record a refusal (list full, author not held): drop the parent, pause the candidate."""
        self._parents.pop(addr, None)
        candidate = self._candidate(addr)
        candidate.failures += 1
        pause = self.policy.full_cooldown if full else self._backoff(candidate.failures)
        candidate.retry_at = now + pause

    def failed(self, addr: Address, now: float) -> None:
        """Record an unanswered request: retry later; a parent stays until it expires."""
        parent = self._parents.get(addr)
        if parent is not None:
            parent.failures += 1
            parent.renew_at = min(parent.expires, now + self._backoff(parent.failures))
            return
        candidate = self._candidate(addr)
        candidate.failures += 1
        candidate.retry_at = now + self._backoff(candidate.failures)

    def pushed(self, addr: Address, hops: int) -> bool:
        """Record a push from ``addr`` that ``hops`` hops lie behind; False if not a parent."""
        parent = self._parents.get(addr)
        if parent is None:
            return False
        parent.hops = hops  # measured on a real path, so it replaces what was advertised
        self._candidate(addr).hops = hops
        return True

    def remove(self, addr: Address) -> None:
        """Forget ``addr`` as a parent (unsubscribed); it stays a candidate."""
        self._parents.pop(addr, None)

    def expire(self, now: float) -> list[Address]:
        """Drop parents whose subscription ran out; return them."""
        gone = [addr for addr, p in self._parents.items() if p.expires <= now]
        for addr in gone:
            del self._parents[addr]
            candidate = self._candidate(addr)
            candidate.failures += 1
            candidate.retry_at = now + self._backoff(candidate.failures)
        return gone

    def lookup_done(self, now: float) -> None:
        """Schedule the next rendezvous lookup: soon while parents are missing, else rarely."""
        if self.satisfied:
            self._next_lookup = now + self.policy.lookup_steady
            self._lookup_delay = self.policy.lookup_first
        else:
            self._next_lookup = now + self._lookup_delay
            self._lookup_delay = min(self._lookup_delay * 2, self.policy.lookup_max)

    def lookup_started(self) -> None:
        """Record that a lookup is under way: none is due until ``lookup_done``."""
        self._next_lookup = math.inf

    # decisions -------------------------------------------------------------------------------

    def lookup_due(self, now: float) -> bool:
        """Return whether the rendezvous should be looked up now."""
        return now >= self._next_lookup

    def to_try(self, now: float, busy: Collection[Address]) -> list[Address]:
        """Return candidates to send a subscription to now (none once satisfied)."""
        if self.satisfied:
            return []
        attempts = sum(1 for addr in busy if addr not in self._parents)
        slots = min(self.policy.max_attempts - attempts, self.policy.want + 1 - len(self._parents))
        if slots <= 0:
            return []
        ready = [
            c
            for c in self._candidates.values()
            if c.addr not in self._parents and c.addr not in busy and c.retry_at <= now
        ]
        ready.sort(key=lambda c: (c.hops is None, c.hops or 0, c.failures, c.rank))
        return [c.addr for c in ready[:slots]]

    def to_renew(self, now: float, busy: Collection[Address]) -> list[Parent]:
        """Return parents whose subscription should be renewed now."""
        return [p for p in self._parents.values() if p.renew_at <= now and p.addr not in busy]

    def to_drop(self) -> list[Address]:
        """Return parents no longer needed: pathless ones once satisfied, the worst beyond want."""
        if self.satisfied:
            keep = {p.addr for p in self.good[: self.policy.want]}
            return [addr for addr in self._parents if addr not in keep]
        excess = len(self._parents) - (self.policy.want + 1)
        pathless = [addr for addr, p in self._parents.items() if p.hops is None]
        return pathless[: max(0, excess)]

    def next_due(self, now: float) -> float:
        """Return the next time after ``now`` something falls due (lookup, renewal, retry).

        What is due at ``now`` already is the caller's to act on (or waits for a reply in flight,
        whose arrival is the next event).
        """
        times = [self._next_lookup]
        for parent in self._parents.values():
            times += [parent.renew_at, parent.expires]
        if not self.satisfied:
            times += [c.retry_at for c in self._candidates.values() if c.addr not in self._parents]
        later = [t for t in times if now < t < math.inf]
        return min(later, default=now + self.policy.lookup_steady)

    # internals -------------------------------------------------------------------------------

    def _wanted(self, hops: int | None) -> bool:
        """Return whether a new parent with ``hops`` should be kept."""
        if hops is None:
            return not self.satisfied and len(self._parents) < self.policy.want + 1
        good = self.good
        if len(good) < self.policy.want:
            return True
        worst = good[self.policy.want - 1].hops
        return worst is not None and hops < worst

    def _candidate(self, addr: Address) -> Candidate:
        candidate = self._candidates.get(addr)
        if candidate is None:
            if len(self._candidates) >= self.policy.max_candidates:
                self._evict(failed_only=False)
            candidate = Candidate(addr, self._rng.randrange(1 << 30))
            self._candidates[addr] = candidate
        return candidate

    def _evict(self, *, failed_only: bool = True) -> bool:
        """Forget the non-parent candidate that failed most; False if none may go."""
        others = [
            c
            for c in self._candidates.values()
            if c.addr not in self._parents and (c.failures > 0 or not failed_only)
        ]
        if not others:
            return False
        worst = max(others, key=lambda c: (c.failures, c.rank))
        del self._candidates[worst.addr]
        return True

    def _backoff(self, failures: int) -> float:
        pause: float = self.policy.retry_after * 2.0 ** max(0, failures - 1)
        return min(pause, self.policy.max_retry)

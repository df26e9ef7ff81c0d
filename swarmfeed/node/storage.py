"""Keeping media within the storage budgets: eviction of followed authors' least valuable media.

core/budget decides (how much room a new bundle needs, which holdings are worth least); this
module gathers the facts and carries the decision out. Candidates are the queued or complete
bundles of authors followed as ``follow`` — never the node's own media, never a mirrored
author's, never a page. A queued candidate is only marked skipped; a complete one is evicted:

1. its row is marked ``evicted`` (``evict:marked``): from here on no log references it, so a
   crash at any later point is finished by the start-up reconciliation, which removes the
   torrent and its folder like any unreferenced one;
2. the torrent is removed from the engine with its files, and its index row
   (``evict:removed``).

An evicted bundle is fetched again when a person opens it (MediaQueue.request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from swarmfeed.core.budget import (
    FetchBudget,
    FetchDecision,
    Holding,
    Usage,
    choose_evictions,
    keep_value,
    over_budget,
)
from swarmfeed.core.followfile import FollowKind
from swarmfeed.engine.engine import Engine
from swarmfeed.node.faults import Faults
from swarmfeed.node.torrents import TorrentShelf
from swarmfeed.store.database import Database, MediaState
from swarmfeed.store.media import HELD, Requested

log = logging.getLogger("swarmfeed.storage")

BATCH = 64
"""Candidates read from the index at a time."""


@dataclass(frozen=True)
class AuthorUsage:
    """One author's media on this node."""

    author: str
    kind: str
    """``own``, ``mirror`` or ``follow``."""
    held_bytes: int
    """Complete bundles."""
    pending_bytes: int
    """Queued or being fetched."""
    bundles: int
    """Complete bundles."""
    evicted: int
    """Bundles evicted to stay within a budget."""
    skipped: int
    """Bundles not fetched (over a cap or budget); fetched when opened."""
    budget: int | None
    """The author's budget in bytes; None for the node's own and mirrored authors."""


@dataclass(frozen=True)
class StorageReport:
    """Media held against the budgets."""

    used_bytes: int
    """Media held or on its way, of every author."""
    budget_bytes: int
    """The total budget; 0: none."""
    evicted: int
    authors: list[AuthorUsage] = field(default_factory=list)


class StorageKeeper:
    """Makes room for new media and keeps what is held within the budgets."""

    def __init__(
        self,
        own_author: str,
        db: Database,
        engine: Engine,
        shelf: TorrentShelf,
        budget: FetchBudget,
        clock: Callable[[], float],
        faults: Faults,
    ) -> None:
        self.own_author = own_author
        self.db = db
        self.engine = engine
        self.shelf = shelf
        self.budget = budget
        self.clock = clock
        self.faults = faults
        self.evictions = 0
        """Bundles evicted since start (metrics)."""

    # deciding --------------------------------------------------------------------------------

    def usage(self, author: str) -> Usage:
        """Return the media held or pending, in all and of ``author``."""
        return Usage(self.db.media.used_bytes(), self.db.media.used_bytes(author))

    def make_room(self, author: str, decision: FetchDecision, value: float | None) -> bool:
        """Free what ``decision`` asks for by evicting media worth less than ``value``.

        Returns False (and evicts nothing) when that cannot free enough; with ``value`` None
        (a mirrored author's bundle) whatever can be freed is, and the bundle is fetched anyway.
        """
        chosen: dict[str, Requested] = {}
        freed = 0
        followed = self.db.follows.of_kind(FollowKind.FOLLOW.value)
        # The author's own budget first; what that frees counts toward the total too.
        for authors, need in (([author], decision.free_author), (followed, decision.free_total)):
            still = need - freed
            if still <= 0:
                continue
            found = self._candidates(authors, still, value, exclude=set(chosen))
            picked = choose_evictions(still, [h for h, _ in found.values()], below=value)
            if not picked.enough and value is not None:
                return False
            chosen.update((ih, found[ih][1]) for ih in picked.infohashes)
            freed += picked.freed
        self._evict(list(chosen.values()), "making room for newer media")
        return True

    def _candidates(
        self, authors: list[str], need: int, value: float | None, exclude: set[str]
    ) -> dict[str, tuple[Holding, Requested]]:
        """Read candidates least used first until they could free ``need`` bytes twice over.

        The index orders by last use and requests; the bytes served to peers (from the engine)
        only raise a bundle's value, so once the index's score reaches ``value`` no later row
        can be worth less.
        """
        found: dict[str, tuple[Holding, Requested]] = {}
        total = 0
        after: tuple[float, str] | None = None
        while total < 2 * need:
            batch = self.db.media.evictable(authors, BATCH, after)
            for item in batch:
                holding = self._holding(item)
                if value is not None and keep_value(_without_served(holding)) >= value:
                    return found
                if item.row.infohash in exclude:
                    continue
                found[item.row.infohash] = (holding, item)
                total += item.row.size
            if len(batch) < BATCH:
                break
            last = batch[-1]
            after = (keep_value(_without_served(self._holding(last))), last.row.infohash)
        return found

    def _holding(self, item: Requested) -> Holding:
        row = item.row
        served = 0.0
        if row.state is MediaState.COMPLETE and row.size and self.engine.has(row.infohash):
            served = self.engine.status(row.infohash).all_time_upload / row.size
        return Holding(
            row.infohash,
            row.author,
            row.size,
            row.sort_time,
            item.requests,
            item.last_requested,
            served,
        )

    # enforcing -------------------------------------------------------------------------------

    def enforce(self) -> int:
        """Evict until every followed author and the total are within budget; return bytes freed.

        Runs at start, after a fetch completes and when an author stops being mirrored; costs
        one read of the usage totals when nothing is over.
        """
        freed = 0
        per_author: dict[str, int] = {}
        total = 0
        for row in self.db.media.usage():
            if row.state in HELD:
                per_author[row.author] = per_author.get(row.author, 0) + row.bytes
                total += row.bytes
        for author in self.db.follows.of_kind(FollowKind.FOLLOW.value):
            excess = over_budget(Usage(author=per_author.get(author, 0)), self.budget, author)
            if excess:
                gone = self._enforce([author], excess)
                freed += gone
                total -= gone
        excess = over_budget(Usage(total=total), self.budget)
        if excess:
            followed = self.db.follows.of_kind(FollowKind.FOLLOW.value)
            freed += self._enforce(followed, excess)
            if total - freed > self.budget.total_bytes:
                log.warning(
                    "media held (%d bytes) stays over the storage budget of %d bytes: the rest"
                    " is the node's own and mirrored authors' media, which is never evicted",
                    total - freed,
                    self.budget.total_bytes,
                )
        return freed

    def _enforce(self, authors: list[str], excess: int) -> int:
        found = self._candidates(authors, excess, None, set())
        picked = choose_evictions(excess, [h for h, _ in found.values()])
        self._evict([found[ih][1] for ih in picked.infohashes], "over a storage budget")
        return picked.freed

    def _evict(self, items: list[Requested], why: str) -> None:
        now = int(self.clock())
        for item in items:
            row = item.row
            if row.state is MediaState.QUEUED:
                self.db.media.set_state(row.infohash, MediaState.SKIPPED, now, reason=why)
                continue
            self.db.media.set_state(row.infohash, MediaState.EVICTED, now, reason=why)
            self.faults.reached("evict:marked")
            self.shelf.discard(row.infohash)
            self.db.torrents.remove(row.infohash)
            self.faults.reached("evict:removed")
            self.evictions += 1
            log.info(
                "evicted media %s of %s (%d bytes): %s",
                row.infohash[:16],
                row.author[:16],
                row.size,
                why,
            )

    # reporting -------------------------------------------------------------------------------

    def report(self) -> StorageReport:
        """Return media held per author against the budgets (cost grows with authors)."""
        kinds = self.db.follows.kinds()
        kinds[self.own_author] = "own"
        figures: dict[str, dict[MediaState, tuple[int, int]]] = {}
        for usage in self.db.media.usage():
            figures.setdefault(usage.author, {})[usage.state] = (usage.bundles, usage.bytes)
        for author in kinds:
            figures.setdefault(author, {})
        authors: list[AuthorUsage] = []
        used = evicted = 0
        for author, states in figures.items():
            kind = kinds.get(author)
            if kind is None:
                continue  # an unfollow cut short; the reconciliation removes it

            def get(state: MediaState, states: dict[MediaState, tuple[int, int]] = states) -> int:
                return states.get(state, (0, 0))[1]

            def count(state: MediaState, states: dict[MediaState, tuple[int, int]] = states) -> int:
                return states.get(state, (0, 0))[0]

            pending = get(MediaState.QUEUED) + get(MediaState.FETCHING)
            used += get(MediaState.COMPLETE) + pending
            evicted += count(MediaState.EVICTED)
            authors.append(
                AuthorUsage(
                    author,
                    kind,
                    get(MediaState.COMPLETE),
                    pending,
                    count(MediaState.COMPLETE),
                    count(MediaState.EVICTED),
                    count(MediaState.SKIPPED),
                    self.budget.author_limit(author) if kind == FollowKind.FOLLOW.value else None,
                )
            )
        authors.sort(key=lambda a: (a.kind != "own", a.author))
        return StorageReport(used, self.budget.total_bytes, evicted, authors)


def _without_served(holding: Holding) -> Holding:
    return Holding(
        holding.infohash,
        holding.author,
        holding.size,
        holding.sort_time,
        holding.requests,
        holding.last_requested,
    )

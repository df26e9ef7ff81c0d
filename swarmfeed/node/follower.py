"""The follower side: the follow list, one poll task per followed author, head re-puts.

Each followed author has one supervised poll task. A sync takes the best head candidate (one
offered by a push, the DHT's answer, or the stored head while a long history is still being
fetched) and hands it to ``FeedSync`` (node/feedsync.py), which judges it and stores the pages
it leads to. What the sync found decides when the next one runs: a poll that found nothing is
retried after 3 s, doubling; a paused catch-up continues at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from swarmfeed.core.bep44 import MutableItem, verify_item
from swarmfeed.core.followfile import FollowKind, ListEntry
from swarmfeed.dht.client import DhtClient
from swarmfeed.errors import InvalidInput, Superseded, SwarmfeedError
from swarmfeed.node.counters import Counters
from swarmfeed.node.events import EventBus, FollowChanged
from swarmfeed.node.faults import Faults
from swarmfeed.node.feedsync import FeedSync, stored_item
from swarmfeed.node.followlist import FollowList
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.mediaqueue import MediaQueue
from swarmfeed.node.torrents import TorrentShelf
from swarmfeed.store.database import Database
from swarmfeed.supervisor import Supervisor

log = logging.getLogger("swarmfeed.follower")

FIRST_RETRY = 3.0
"""Seconds before a poll that found no head (or timed out) is tried again; doubles each time."""


@dataclass(frozen=True)
class FollowTimings:
    """How often heads are polled and re-put, and how long a page fetch may take."""

    poll_interval: float = 300.0
    poll_jitter: float = 0.2
    republish_interval: float = 1800.0


class Outcome:
    """What a sync found (it decides when the next one runs)."""

    SYNCED = "synced"
    CATCHING_UP = "catching up"
    SEARCHING = "searching"
    STALLED = "stalled"
    REFUSED = "refused"
    ERROR = "error"


class Follower:
    """Keeps every followed author's log verified, stored and seeded."""

    def __init__(
        self,
        layout: HomeLayout,
        db: Database,
        shelf: TorrentShelf,
        dht: DhtClient,
        events: EventBus,
        clock: Callable[[], float],
        timings: FollowTimings,
        supervisor: Supervisor,
        media: MediaQueue,
        follow_list: FollowList,
        feeds: FeedSync,
        *,
        faults: Faults | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.layout = layout
        self.db = db
        self.shelf = shelf
        self.dht = dht
        self.events = events
        self.clock = clock
        self.timings = timings
        self.supervisor = supervisor
        self.media = media
        self.follow_list = follow_list
        self.feeds = feeds
        self.faults = faults or Faults()
        self.counters = counters or Counters()
        self._wake: dict[str, asyncio.Event] = {}
        self._sync_locks: dict[str, asyncio.Lock] = {}
        self._offered: dict[str, MutableItem] = {}
        self._judging: dict[str, int] = {}
        """Seq of the head each author's running sync judges (a re-offer of it is stale)."""

    # lifecycle -------------------------------------------------------------------------------

    def load_follow_list(self) -> None:
        """Make the index follow exactly the authors of the follow list (run before reconcile).

        An author still in the index but not in the list was being unfollowed when the node
        stopped: its index rows go now, its torrents in the reconciliation after this.
        """
        if not self.follow_list.exists:
            kinds = self.db.follows.kinds()
            authors = self.db.follows.authors()
            self.follow_list.replace([ListEntry(a, FollowKind(kinds[a])) for a in authors])
            return
        listed = self.follow_list.authors()
        now = int(self.clock())
        for entry in self.follow_list.entries():
            self.db.follows.add(entry.author, now, entry.kind.value)
        for author in self.db.follows.authors():
            if author not in listed:
                log.warning("finishing the unfollow of %s cut short by the last stop", author[:16])
                self.db.follows.remove(author)
                self.db.forget_author(author)
                self.layout.head_file(author).unlink(missing_ok=True)

    def start(self) -> None:
        """Start polling every followed author and the periodic head re-put."""
        for author in self.db.follows.authors():
            self._start_polling(author)
        self.supervisor.spawn("republish-heads", self._republish_loop)

    def follow(self, author: str, kind: FollowKind = FollowKind.FOLLOW) -> bool:
        """Follow ``author`` (hex key) as ``kind`` and sync it at once; False if already followed.

        Following an author already followed changes only its kind (a mirror keeps the whole
        history; a former mirror is held to the budgets again).
        """
        before = self.db.follows.kind(author)
        self.follow_list.add(author, kind)
        self.faults.reached("follow:listed")
        added = self.db.follows.add(author, int(self.clock()), kind.value)
        if added:
            self.events.publish(FollowChanged(author, "new"))
        elif before != kind.value:
            self.media.kind_changed(author, kind)
        self._start_polling(author)
        self._wake[author].set()
        return added

    async def unfollow(self, author: str) -> bool:
        """Stop following ``author``: end its sync, drop its torrents, files, posts and head."""
        listed = self.follow_list.remove(author)
        self.faults.reached("unfollow:listed")
        await self.supervisor.cancel(_task_name(author))
        await self.media.cancel_author(author)
        for row in self.db.torrents.rows(author):
            self.shelf.discard(row.infohash)
        self.faults.reached("unfollow:torrents-removed")
        removed = self.db.follows.remove(author)
        self.db.forget_author(author)
        self.layout.head_file(author).unlink(missing_ok=True)
        self._wake.pop(author, None)
        self._offered.pop(author, None)
        if removed or listed:
            self.events.publish(FollowChanged(author, "unfollowed"))
        return removed or listed

    def sync_now(self, author: str) -> None:
        """Wake the poller of ``author`` so it checks the head at once."""
        if author in self._wake:
            self._wake[author].set()

    def offer_head(self, author: str, item: MutableItem) -> bool:
        """Take a head someone sent us as a candidate for the next sync of ``author``.

        Only a verified item of a followed author with a higher seq than the stored one, and
        than the one a running sync judges, wakes the poller; the sync then judges it exactly
        as a head found in the DHT. A head offered again while its own pages are fetched (a
        push confirmed, a watch found it) is stale: superseding would restart that fetch.
        """
        if not self.db.follows.contains(author) or item.public_key.hex() != author:
            return False
        try:
            verify_item(item)
        except InvalidInput as exc:
            log.info("offered head of %s refused: %s", author[:16], exc)
            self.counters.offers["refused"] += 1
            self.counters.refused(exc)
            return False
        known = self.db.feeds.head(author)
        best = self._offered.get(author)
        judging = self._judging.get(author)
        if (
            (known is not None and item.seq <= known.seq)
            or (best and item.seq <= best.seq)
            or (judging is not None and item.seq <= judging)
        ):
            self.counters.offers["stale"] += 1
            return False
        self.counters.offers["accepted"] += 1
        self._offered[author] = item
        self.feeds.supersede(author)
        self.sync_now(author)
        return True

    def _start_polling(self, author: str) -> None:
        self._wake.setdefault(author, asyncio.Event())
        self.supervisor.spawn(
            _task_name(author),
            lambda: self._poll_loop(author),
            on_failure=lambda _name, exc: self._state(
                author, Outcome.ERROR, error=f"internal error: {type(exc).__name__}: {exc}"
            ),
        )

    async def _poll_loop(self, author: str) -> None:
        wake = self._wake.setdefault(author, asyncio.Event())
        retry = FIRST_RETRY
        while True:
            wake.clear()
            outcome = await self.sync(author)
            self.counters.polls[outcome] += 1
            if outcome == Outcome.CATCHING_UP:
                delay = 0.0  # more pages to fetch: continue after other tasks had a turn
            elif outcome in (Outcome.SEARCHING, Outcome.STALLED, Outcome.ERROR):
                delay = min(retry, self.timings.poll_interval)
                retry *= 2
            else:
                retry = FIRST_RETRY
                interval = self.timings.poll_interval
                jitter = interval * self.timings.poll_jitter
                delay = max(0.05, interval + random.uniform(-jitter, jitter))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)

    # syncing ---------------------------------------------------------------------------------

    async def sync(self, author: str) -> str:
        """Look for a newer head of ``author`` and take in what it leads to; return the outcome.

        Refusals, timeouts and I/O errors become the author's state; anything else propagates
        to the supervisor (logged with its traceback, shown, and the poller restarted).
        """
        lock = self._sync_locks.setdefault(author, asyncio.Lock())
        async with lock:
            try:
                self.feeds.expect(author)  # an offer from now on ends a stale page wait
                item = await self._candidate(author)
                if item is None:
                    if self.db.feeds.head(author) is None:
                        self._state(author, Outcome.SEARCHING, error="no head found in the DHT yet")
                        return Outcome.SEARCHING
                    log.info("no head of %s answered this time; keeping ours", author[:16])
                    return Outcome.SYNCED
                watch = asyncio.create_task(self._watch_newer(author, item.seq))
                self._judging[author] = item.seq
                try:
                    complete = await self.feeds.accept_head(author, item)
                finally:
                    self._judging.pop(author, None)
                    watch.cancel()
            except InvalidInput as exc:  # already logged by accept_head
                self.counters.refused(exc)
                self._state(author, Outcome.REFUSED, error=str(exc))
                return Outcome.REFUSED
            except Superseded as exc:
                log.info("%s; taking the newer head", exc)
                return Outcome.CATCHING_UP
            except TimeoutError:
                log.info("sync of %s timed out waiting for peers", author[:16])
                self._state(author, Outcome.STALLED, error="timed out waiting for peers")
                return Outcome.STALLED
            except (SwarmfeedError, OSError) as exc:
                log.warning("sync of %s failed: %s", author[:16], exc)
                self._state(author, Outcome.ERROR, error=str(exc))
                return Outcome.ERROR
            if complete:
                self._state(author, Outcome.SYNCED, synced=True)
                return Outcome.SYNCED
            head = self.db.feeds.head(author)
            total = head.count if head else 0
            stored = self.db.posts.count(author)
            self._state(author, Outcome.CATCHING_UP, error=f"{stored} of {total} posts fetched")
            return Outcome.CATCHING_UP

    async def _watch_newer(self, author: str, seq: int) -> None:
        """Poll for a head newer than ``seq`` while a sync takes its pages (poll cadence).

        The page a head names may be gone already (its author replaced it with the next post);
        a newer head found meanwhile is offered, which ends the wait for that page.
        """
        key = bytes.fromhex(author)
        while True:
            await asyncio.sleep(self.timings.poll_interval)  # the poll cadence, not an event
            with contextlib.suppress(OSError):
                result = await self.dht.get_mutable(key, newer_than=seq)
                if result.item is not None and self.offer_head(author, result.item):
                    return

    async def _candidate(self, author: str) -> MutableItem | None:
        """Return the head to judge: offered, found in the DHT, or the stored unfinished one."""
        known = self.db.feeds.head(author)
        offered = self._offered.pop(author, None)
        if offered is not None and (known is None or offered.seq > known.seq):
            return offered
        result = await self.dht.get_mutable(
            bytes.fromhex(author), newer_than=known.seq if known else None
        )
        if result.item is not None:
            return result.item
        if known is not None and self.db.posts.count(author) < known.count:
            return stored_item(known)  # the history behind it is still being fetched
        return None

    def _state(
        self, author: str, state: str, *, error: str | None = None, synced: bool = False
    ) -> None:
        if not self.db.follows.contains(author):
            return
        changed = self.db.follows.set_state(
            author, state, now=int(self.clock()), error=error, synced=synced
        )
        if changed:
            self.events.publish(FollowChanged(author, state))

    # keeping authors findable ----------------------------------------------------------------

    async def _republish_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timings.republish_interval)  # periodic timer, not a wait
            await self.republish_heads()

    async def republish_heads(self) -> None:
        """Re-put every followed author's latest signed head unchanged (BEP 44 allows it)."""
        for author in self.db.follows.authors():
            head = self.db.feeds.head(author)
            if head is None:
                continue
            item = stored_item(head)
            try:
                result = await self.dht.put_mutable(item)
                log.info(
                    "re-put head of %s (seq %d) on %d nodes", author[:16], item.seq, result.stored
                )
            except (SwarmfeedError, OSError) as exc:
                log.warning("re-put of %s failed: %s", author[:16], exc)


def _task_name(author: str) -> str:
    return f"sync {author[:16]}"

"""The follower side: poll heads, walk and store pages, queue media, re-put heads.

Each followed author has one supervised poll task. A sync takes the best head candidate (one
offered by a push, the DHT's answer, or the stored head while a long history is still being
fetched), judges it (core/feed.judge_head) and drives core/sync.ChainWalk: every page is
fetched by magnet with a metadata check, read only once complete, verified off the event loop
and stored at once, newest first; a sync stops after a bounded number of pages and the next
run continues. Media of stored posts goes to the media queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, verify_item
from swarmfeed.core.feed import (
    PAGE_CAPACITY,
    FeedPage,
    HeadPointer,
    HeadVerdict,
    decode_head_value,
    judge_head,
)
from swarmfeed.core.sync import ChainWalk, FetchPage, HeldPage, WalkLimits
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.engine import Engine
from swarmfeed.errors import InvalidInput, RolledBack, SwarmfeedError, WrongAuthor
from swarmfeed.node.events import EventBus, FollowChanged, PostAdded
from swarmfeed.node.faults import Faults
from swarmfeed.node.followlist import FollowList
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.mediaqueue import MediaQueue
from swarmfeed.node.torrents import TorrentShelf, check_page_metadata
from swarmfeed.store.database import Database, HeadRow, PageRow, TorrentRow
from swarmfeed.store.files import atomic_write
from swarmfeed.supervisor import Supervisor

log = logging.getLogger("swarmfeed.follower")

DEFAULT_LIMITS = WalkLimits()
FIRST_RETRY = 3.0
"""Seconds before a poll that found no head (or timed out) is tried again; doubles each time."""


@dataclass(frozen=True)
class FollowTimings:
    """How often heads are polled and re-put, and how long a page fetch may take."""

    poll_interval: float = 300.0
    poll_jitter: float = 0.2
    republish_interval: float = 1800.0
    page_timeout: float = 120.0


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
        engine: Engine,
        shelf: TorrentShelf,
        dht: DhtClient,
        events: EventBus,
        clock: Callable[[], float],
        timings: FollowTimings,
        supervisor: Supervisor,
        media: MediaQueue,
        follow_list: FollowList,
        *,
        limits: WalkLimits = DEFAULT_LIMITS,
        faults: Faults | None = None,
    ) -> None:
        self.layout = layout
        self.db = db
        self.engine = engine
        self.shelf = shelf
        self.dht = dht
        self.events = events
        self.clock = clock
        self.timings = timings
        self.supervisor = supervisor
        self.media = media
        self.follow_list = follow_list
        self.limits = limits
        self.faults = faults or Faults()
        self._wake: dict[str, asyncio.Event] = {}
        self._sync_locks: dict[str, asyncio.Lock] = {}
        self._offered: dict[str, MutableItem] = {}
        self._head_listeners: list[Callable[[str, MutableItem], None]] = []

    # lifecycle -------------------------------------------------------------------------------

    def load_follow_list(self) -> None:
        """Make the index follow exactly the authors of the follow list (run before reconcile).

        An author still in the index but not in the list was being unfollowed when the node
        stopped: its index rows go now, its torrents in the reconciliation after this.
        """
        if not self.follow_list.exists:
            self.follow_list.replace(self.db.follows.authors())
            return
        listed = self.follow_list.authors()
        now = int(self.clock())
        for author in listed:
            self.db.follows.add(author, now)
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

    def follow(self, author: str) -> bool:
        """Follow ``author`` (hex key) and sync it at once; return False if already followed."""
        self.follow_list.add(author)
        self.faults.reached("follow:listed")
        added = self.db.follows.add(author, int(self.clock()))
        if added:
            self.events.publish(FollowChanged(author, "new"))
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

    def on_head_accepted(self, listener: Callable[[str, MutableItem], None]) -> None:
        """Call ``listener(author, item)`` after a newer verified head of an author is stored."""
        self._head_listeners.append(listener)

    def offer_head(self, author: str, item: MutableItem) -> bool:
        """Take a head someone sent us as a candidate for the next sync of ``author``.

        Only a verified item of a followed author with a higher seq than the stored one wakes
        the poller; the sync then judges it exactly as a head found in the DHT.
        """
        if not self.db.follows.contains(author) or item.public_key.hex() != author:
            return False
        try:
            verify_item(item)
        except InvalidInput as exc:
            log.info("offered head of %s refused: %s", author[:16], exc)
            return False
        known = self.db.feeds.head(author)
        best = self._offered.get(author)
        if (known is not None and item.seq <= known.seq) or (best and item.seq <= best.seq):
            return False
        self._offered[author] = item
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
                item = await self._candidate(author)
                if item is None:
                    if self.db.feeds.head(author) is None:
                        self._state(author, Outcome.SEARCHING, error="no head found in the DHT yet")
                        return Outcome.SEARCHING
                    log.info("no head of %s answered this time; keeping ours", author[:16])
                    return Outcome.SYNCED
                complete = await self.accept_head(author, item)
            except InvalidInput as exc:  # already logged by accept_head
                self._state(author, Outcome.REFUSED, error=str(exc))
                return Outcome.REFUSED
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
            return _item(known)  # the history behind it is still being fetched
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

    async def accept_head(self, author: str, item: MutableItem) -> bool:
        """Verify ``item`` as the head of ``author`` and store the pages it leads to.

        Returns True when the author's whole chain is stored, False when the walk paused after
        its page budget. Anything refused is logged with its reason and re-raised.
        """
        try:
            return await self._accept_head(author, item)
        except InvalidInput as exc:
            kind = "head" if isinstance(exc, RolledBack) else "data"
            log.warning("refused %s of %s: %s", kind, author[:16], exc)
            raise

    async def _accept_head(self, author: str, item: MutableItem) -> bool:
        key = bytes.fromhex(author)
        if item.public_key != key:
            raise WrongAuthor(f"head signed by {item.public_key.hex()[:16]}, not {author[:16]}")
        verify_item(item)
        known = self.db.feeds.head(author)
        pointer = decode_head_value(item.value)
        stored_count = self.db.posts.count(author)
        verdict = judge_head(
            known.seq if known else None,
            _item(known).value if known else None,
            max(stored_count, known.count if known else 0),
            item.seq,
            item.value,
        )
        if verdict is HeadVerdict.SAME and stored_count >= pointer.count:
            return True
        held = {
            row.index: HeldPage(row.index, row.infohash, row.full, row.prev)
            for row in self.db.feeds.pages(author)
        }
        walk = ChainWalk(key, pointer, held, self.limits)
        new_head = verdict is HeadVerdict.NEW
        step = walk.first_step()
        if walk.head_confirmed and new_head:
            self._store_head(author, item, pointer)
            new_head = False
        while isinstance(step, FetchPage):
            page = await self._fetch_page(author, walk, step)
            self._store_page(author, step.infohash, page, held.get(page.index))
            step = walk.stored(step.infohash, page)
            if walk.head_confirmed and new_head:
                self._store_head(author, item, pointer)
                new_head = False
        return step.complete

    async def _fetch_page(self, author: str, walk: ChainWalk, step: FetchPage) -> FeedPage:
        """Fetch page torrent ``step.infohash``, read it once complete, verify it off the loop."""
        key = bytes.fromhex(author)
        infohash = step.infohash
        if not self.engine.has(infohash):
            await self.engine.add_magnet(
                bytes.fromhex(infohash),
                None,
                self.layout.save_path(infohash),
                check_metadata=lambda info: check_page_metadata(info, key),
                peers=self._peer_hints(author),
            )
        self.db.torrents.add(TorrentRow(infohash, "page", author, None), int(self.clock()))
        await self.engine.wait_metadata(infohash, timeout=self.timings.page_timeout)
        await self.engine.wait_finished(infohash, timeout=self.timings.page_timeout)
        data = self.shelf.page_bytes(infohash)
        first = step.index * PAGE_CAPACITY
        accepted = self.db.posts.accepted_ids(author, first, first + PAGE_CAPACITY - 1)
        try:
            if data is None:
                raise InvalidInput(f"page torrent {infohash[:16]} finished but holds no page file")
            return await asyncio.to_thread(walk.check, infohash, data, accepted)
        except InvalidInput:
            # A page that fails its checks is not kept, so it is not seeded to anyone either.
            self.shelf.discard(infohash)
            self.db.torrents.remove(infohash)
            raise

    def _peer_hints(self, author: str) -> list[tuple[str, int]]:
        """Return peers of the author's torrents we hold: the author likely seeds the new one.

        A new page or media torrent is otherwise found only through a DHT lookup (BEP 5), which
        is slow right after the author announced it; these peers give its metadata (BEP 9) at once.
        """
        return self.engine.peer_hints(row.infohash for row in self.db.torrents.rows(author))

    def _store_page(
        self, author: str, infohash: str, page: FeedPage, replaced: HeldPage | None
    ) -> None:
        now = int(self.clock())
        added = self.db.posts.add(list(page.posts), now)
        self.db.feeds.set_page(
            PageRow(
                author,
                page.index,
                infohash,
                page.first,
                len(page.posts),
                page.is_full,
                page.prev.hex() if page.prev else None,
            )
        )
        if page.profile is not None:
            self.db.feeds.set_profile(author, page.profile.name, page.profile.bio)
        if replaced is not None and replaced.infohash != infohash:
            # A newer version of a not-yet-full page supersedes the one we seeded.
            self.shelf.discard(replaced.infohash)
            self.db.torrents.remove(replaced.infohash)
        self.media.offer(author, added, now)
        self.faults.reached("sync:page-stored")
        for signed in added:
            self.events.publish(PostAdded(signed.id, author, signed.post.seq))
        log.info("stored page %d of %s: %d new posts", page.index, author[:16], len(added))

    def _store_head(self, author: str, item: MutableItem, pointer: HeadPointer) -> None:
        encoded = bencoding.encode(item.to_bencodable())
        row = HeadRow(author, item.seq, pointer.count, pointer.infohash.hex(), encoded)
        self.db.feeds.set_head(row, int(self.clock()))
        atomic_write(self.layout.head_file(author), encoded)
        self.faults.reached("sync:head-stored")
        for listener in self._head_listeners:
            listener(author, item)

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
            item = _item(head)
            try:
                result = await self.dht.put_mutable(item)
                log.info(
                    "re-put head of %s (seq %d) on %d nodes", author[:16], item.seq, result.stored
                )
            except (SwarmfeedError, OSError) as exc:
                log.warning("re-put of %s failed: %s", author[:16], exc)


def _task_name(author: str) -> str:
    return f"sync {author[:16]}"


def _item(head: HeadRow) -> MutableItem:
    return MutableItem.from_bencodable(bencoding.decode(head.item, max_size=4096))

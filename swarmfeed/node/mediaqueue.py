"""Fetching followed authors' media: newest first, a bounded number at a time, urgent first.

Posts are stored long before their media is wanted; each bundle gets a row in the media
table when its post is stored (core/budget decides whether it is fetched automatically). One
supervised loop starts fetches while core/budget.may_start allows: a back catalogue fills a
few slots (more while its bundles are small), a fresh post or media a person opened may use
more, so it never waits behind it.
A fetch that finds no peers gives its slot back and is retried later with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from swarmfeed.core.budget import (
    FetchBudget,
    FetchDecision,
    Holding,
    Priority,
    Usage,
    decide_fetch,
    keep_value,
    may_start,
    order_time,
    priority,
)
from swarmfeed.core.followfile import FollowKind
from swarmfeed.core.media import check_media_metadata
from swarmfeed.core.posts import SignedPost
from swarmfeed.engine.engine import Engine
from swarmfeed.errors import InvalidInput, NotFound, SwarmfeedError
from swarmfeed.node.authorpeers import wait_metadata_with_peers
from swarmfeed.node.counters import Counters
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.storage import StorageKeeper
from swarmfeed.store.database import Database, MediaRow, MediaState, TorrentRow
from swarmfeed.supervisor import Supervisor

log = logging.getLogger("swarmfeed.media")

Endpoint = tuple[str, int]

METADATA_TIMEOUT = 120.0
"""Seconds to find a bundle's metadata (BEP 9) before its slot is given back."""
STALL_SECONDS = 120.0
"""A download that makes no progress for this long gives its slot back."""
FIRST_RETRY = 60.0
MAX_RETRY = 3600.0


class MediaQueue:
    """Keeps the media table's queue moving through the engine."""

    def __init__(
        self,
        db: Database,
        engine: Engine,
        layout: HomeLayout,
        budget: FetchBudget,
        clock: Callable[[], float],
        supervisor: Supervisor,
        peers: Callable[[str], Awaitable[list[Endpoint]]],
        storage: StorageKeeper,
        counters: Counters,
    ) -> None:
        self.db = db
        self.storage = storage
        self.counters = counters
        self.engine = engine
        self.layout = layout
        self.budget = budget
        self.clock = clock
        self.supervisor = supervisor
        self.peers = peers
        self._running: dict[str, asyncio.Task[None]] = {}
        self._authors: dict[str, str] = {}
        self._sizes: dict[str, int] = {}
        self._retries: dict[str, float] = {}
        self._started: dict[str, asyncio.Event] = {}
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Resume the queue: fetches cut short by the last stop are queued again."""
        now = int(self.clock())
        for row in self.db.media.in_state(MediaState.FETCHING):
            self.db.media.set_state(row.infohash, MediaState.QUEUED, now)
        self.supervisor.spawn("media-queue", self._loop)

    async def close(self) -> None:
        """Stop every fetch (the torrents stay in the engine; the queue resumes at start)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # what is wanted --------------------------------------------------------------------------

    def offer(self, author: str, posts: Sequence[SignedPost], received: int) -> None:
        """Queue the media of stored posts of a followed author (within the budgets).

        Posts whose media already has a row are left as they are, so a page stored again (a
        crash between storing its posts and their media) offers what is missing.
        Newest first: when a budget is reached, the newer bundles are the ones kept. A bundle
        that needs room gets it by evicting what is worth less (node/storage.py), or waits to
        be opened.
        """
        now = self.clock()
        rows: list[MediaRow] = []
        mirrored = self.db.follows.kind(author) == FollowKind.MIRROR.value
        usage = self.storage.usage(author)
        pending = 0
        known = self.db.media.known([s.post.media.infohash.hex() for s in posts if s.post.media])
        for signed in sorted(posts, key=lambda s: s.post.seq, reverse=True):
            media = signed.post.media
            if media is None or media.infohash.hex() in known:
                continue
            size = media.total_size
            sort_time = order_time(signed.post.created, received)
            wanted = priority(signed.post.created, received, now)
            decision = decide_fetch(size, usage, self.budget, author=author, mirrored=mirrored)
            if decision.automatic and (decision.free_author or decision.free_total):
                value = None if mirrored else keep_value(Holding("", author, size, sort_time))
                if self.storage.make_room(author, decision, value):
                    # Rows of this batch are not in the index yet: add them to what it says.
                    held = self.storage.usage(author)
                    usage = Usage(held.total + pending, held.author + pending)
                else:
                    decision = FetchDecision(
                        False, "the storage budget is full of newer or more requested media"
                    )
            if decision.automatic:
                usage = Usage(usage.total + size, usage.author + size)
                pending += size
                state = MediaState.QUEUED
            else:
                state = MediaState.SKIPPED
                log.info(
                    "media %s of %s not fetched: %s",
                    media.infohash.hex()[:16],
                    author[:16],
                    decision.reason,
                )
            rows.append(
                MediaRow(
                    media.infohash.hex(),
                    author,
                    signed.id,
                    size,
                    sort_time,
                    wanted,
                    state,
                    decision.reason,
                    None,
                )
            )
        if self.db.media.add(rows, int(now)):
            self._wake.set()

    def offer_missing(self, authors: Sequence[str]) -> int:
        """Queue media of stored posts that a crash kept from the queue; return how many."""
        missing = self.db.posts.without_media_row(authors)
        by_author: dict[str, list[SignedPost]] = {}
        for stored in missing:
            by_author.setdefault(stored.signed.post.author.hex(), []).append(stored.signed)
        for author, posts in by_author.items():
            log.warning(
                "queueing %d media bundles of %s missed by a crash", len(posts), author[:16]
            )
            self.offer(author, posts, int(self.clock()))
        return len(missing)

    def kind_changed(self, author: str, kind: FollowKind) -> None:
        """Fetch a newly mirrored author's whole history; hold a former mirror to the budgets."""
        if kind is FollowKind.MIRROR:
            if self.db.media.reopen_author(author, int(self.clock())):
                self._wake.set()
        else:
            self.storage.enforce()

    def request(self, infohash: str) -> bool:
        """Fetch ``infohash`` now because a person opened it; return False if unknown."""
        row = self.db.media.get(infohash)
        if row is None:
            return False
        now = int(self.clock())
        self.db.media.record_request(infohash, now)
        gone = row.state is MediaState.COMPLETE and not self.engine.has(infohash)
        waiting = (MediaState.QUEUED, MediaState.SKIPPED, MediaState.EVICTED)
        if row.state in waiting or gone:
            self.db.media.set_state(infohash, MediaState.QUEUED, now, priority=Priority.OPENED)
            self._retries.pop(infohash, None)
            self._wake.set()
        return True

    async def wait_started(self, infohash: str, timeout: float) -> None:
        """Wait until ``infohash`` is in the engine (its fetch started); TimeoutError if not."""
        if self.engine.has(infohash):
            return
        event = self._started.setdefault(infohash, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)

    def refused(self, infohash: str, reason: str) -> None:
        """Record that the bundle's metadata failed its check (it is never fetched again)."""
        if self.db.media.get(infohash) is not None:
            self.counters.refusals["MediaMetadata"] += 1
            self.db.media.set_state(infohash, MediaState.REFUSED, int(self.clock()), reason=reason)

    def requeue(self, infohash: str) -> None:
        """Queue a bundle again whose torrent left the engine (start-up reconciliation)."""
        self.db.media.set_state(infohash, MediaState.QUEUED, int(self.clock()))
        self._wake.set()

    async def cancel_author(self, author: str) -> None:
        """Stop every running fetch of ``author`` (unfollow) and wait until they ended."""
        tasks = [task for ih, task in self._running.items() if self._authors.get(ih) == author]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def cancel(self, infohash: str) -> None:
        """Stop a running fetch of ``infohash`` (its post was deleted or its author blocked)."""
        task = self._running.get(infohash)
        if task is not None:
            task.cancel()

    def running(self) -> int:
        """Return how many fetches run now."""
        return len(self._running)

    # the loop --------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            self._start_what_fits()
            wait = None
            retry = self.db.media.next_retry()
            if retry is not None:
                wait = max(0.0, retry - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _start_what_fits(self) -> None:
        room = self.budget.most_active - len(self._running)
        if room <= 0:
            return
        candidates = self.db.media.next(room + len(self._running), self.clock())
        for row in candidates:
            if row.infohash in self._running:
                continue
            in_flight = sum(self._sizes.values())
            if not may_start(len(self._running), row.priority, self.budget, in_flight, row.size):
                continue
            stored = self.db.find_post(row.post_id)  # a reposted original may be foreign
            if stored is None or stored.signed.post.media is None:
                self.db.media.set_state(
                    row.infohash, MediaState.REFUSED, int(self.clock()), reason="post is gone"
                )
                continue
            task = asyncio.create_task(self._fetch(row, stored.signed))
            self._running[row.infohash] = task
            self._authors[row.infohash] = row.author
            self._sizes[row.infohash] = row.size
            task.add_done_callback(self._on_done(row.infohash))

    def _on_done(self, infohash: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self._running.pop(infohash, None)
            self._authors.pop(infohash, None)
            self._sizes.pop(infohash, None)
            self._wake.set()

        return done

    async def _fetch(self, row: MediaRow, signed: SignedPost) -> None:
        media = signed.post.media
        assert media is not None
        infohash = row.infohash
        now = int(self.clock())
        self.db.media.set_state(infohash, MediaState.FETCHING, now)
        try:
            peers = await self.peers(row.author)
            # A fresh post's swarm forms now: announce it in the DHT (BEP 5). Older bundles
            # get their peers from the author's rendezvous, unless none is known or an
            # earlier try found nobody.
            fresh = row.priority >= Priority.FRESH
            dht = fresh or not peers or infohash in self._retries
            await self.engine.add_magnet(
                media.infohash,
                media.infohash_v2,
                self.layout.save_path(infohash),
                name=media.name,
                check_metadata=lambda info: check_media_metadata(info, media),
                peers=peers,
                dht=dht,
                fresh=fresh,
            )
            self.db.torrents.add(TorrentRow(infohash, "media", row.author, row.post_id), now)
            started = self._started.pop(infohash, None)
            if started is not None:
                started.set()
            await wait_metadata_with_peers(
                self.engine, infohash, METADATA_TIMEOUT, lambda: self.peers(row.author)
            )
            await self._wait_complete(infohash)
        except TimeoutError:
            self._stalled(row, "no peer had it")
            return
        except InvalidInput as exc:  # the metadata check refused it (engine dropped it)
            log.warning("media %s of post %s refused: %s", infohash[:16], row.post_id[:16], exc)
            self.counters.refused(exc)
            self.db.media.set_state(
                infohash, MediaState.REFUSED, int(self.clock()), reason=str(exc)
            )
            return
        except (NotFound, SwarmfeedError) as exc:
            log.info("media %s fetch ended: %s", infohash[:16], exc)
            self.db.media.set_state(infohash, MediaState.QUEUED, int(self.clock()))
            return
        if dht and not fresh:
            # Found through the DHT because the rendezvous had nobody: held, it leaves the DHT
            # (libtorrent would announce it every 15 minutes for as long as it is held).
            self.engine.set_dht(infohash, False)
        self._retries.pop(infohash, None)
        self.db.media.set_state(infohash, MediaState.COMPLETE, int(self.clock()))
        self.storage.enforce()

    async def _wait_complete(self, infohash: str) -> None:
        """Wait until the bundle is complete; TimeoutError if it stops making progress."""
        done = -1
        while True:
            try:
                await self.engine.wait_finished(infohash, timeout=STALL_SECONDS)
                return
            except TimeoutError:
                status = self.engine.status(infohash)
                if status.total_done <= done:
                    raise
                done = status.total_done

    def _stalled(self, row: MediaRow, why: str) -> None:
        """Give the slot back: drop the torrent (files kept) and retry later with back-off."""
        delay = min(self._retries.get(row.infohash, FIRST_RETRY / 2) * 2, MAX_RETRY)
        self._retries[row.infohash] = delay
        self.engine.remove(row.infohash, delete_files=False)
        self.db.torrents.remove(row.infohash)
        log.info("media %s stalled (%s); retrying in %.0f s", row.infohash[:16], why, delay)
        self.db.media.set_state(
            row.infohash,
            MediaState.QUEUED,
            int(self.clock()),
            reason=f"stalled: {why}",
            retry_at=self.clock() + delay,
        )

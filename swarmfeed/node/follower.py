"""The follower side: poll heads, walk and verify pages, fetch and seed media, re-put heads."""

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
    FeedPage,
    HeadVerdict,
    check_log_consistency,
    decode_head_value,
    judge_head,
    verify_page,
)
from swarmfeed.core.media import check_media_metadata
from swarmfeed.core.posts import MediaRef, SignedPost
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.engine import Engine
from swarmfeed.errors import InvalidInput, RolledBack, SwarmfeedError, WrongAuthor
from swarmfeed.node.events import EventBus, FollowChanged, PostAdded
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.torrents import TorrentShelf, check_page_metadata
from swarmfeed.store.database import Database, HeadRow, PageRow, TorrentRow
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.follower")


@dataclass(frozen=True)
class FollowTimings:
    """How often heads are polled and re-put, and how long a page fetch may take."""

    poll_interval: float = 300.0
    poll_jitter: float = 0.2
    republish_interval: float = 1800.0
    page_timeout: float = 120.0


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
    ) -> None:
        self.layout = layout
        self.db = db
        self.engine = engine
        self.shelf = shelf
        self.dht = dht
        self.events = events
        self.clock = clock
        self.timings = timings
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._sync_locks: dict[str, asyncio.Lock] = {}
        self._republisher: asyncio.Task[None] | None = None
        self._media_tasks: set[asyncio.Task[None]] = set()
        self._refused_media: set[str] = set()

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling every followed author and the periodic head re-put."""
        for author in self.db.followed_authors():
            self._start_polling(author)
        self._republisher = asyncio.create_task(self._republish_loop())

    async def close(self) -> None:
        """Stop every background task."""
        tasks = [*self._tasks.values(), *self._media_tasks]
        if self._republisher is not None:
            tasks.append(self._republisher)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def follow(self, author: str) -> bool:
        """Follow ``author`` (hex key) and sync it at once; return False if already followed."""
        added = self.db.add_follow(author, int(self.clock()))
        if added:
            self.events.publish(FollowChanged(author, "new"))
        self._start_polling(author)
        self._wake[author].set()
        return added

    def unfollow(self, author: str) -> bool:
        """Stop following ``author``, stop seeding its torrents and forget its head."""
        removed = self.db.remove_follow(author)
        task = self._tasks.pop(author, None)
        if task is not None:
            task.cancel()
        for row in self.db.torrents(author):
            self.engine.remove(row.infohash, delete_files=True)
            self.db.remove_torrent(row.infohash)
        self.layout.head_file(author).unlink(missing_ok=True)
        if removed:
            self.events.publish(FollowChanged(author, "unfollowed"))
        return removed

    def sync_now(self, author: str) -> None:
        """Wake the poller of ``author`` so it checks the head at once."""
        if author in self._wake:
            self._wake[author].set()

    def _start_polling(self, author: str) -> None:
        if author in self._tasks and not self._tasks[author].done():
            return
        self._wake.setdefault(author, asyncio.Event())
        self._tasks[author] = asyncio.create_task(self._poll_loop(author))

    async def _poll_loop(self, author: str) -> None:
        wake = self._wake[author]
        while True:
            wake.clear()
            await self.sync(author)
            interval = self.timings.poll_interval
            jitter = interval * self.timings.poll_jitter
            delay = max(0.05, interval + random.uniform(-jitter, jitter))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)

    # syncing ---------------------------------------------------------------------------------

    async def sync(self, author: str) -> None:
        """Look up the head of ``author`` and take in everything new; never raise."""
        lock = self._sync_locks.setdefault(author, asyncio.Lock())
        async with lock:
            try:
                known = self.db.head(author)
                result = await self.dht.get_mutable(
                    bytes.fromhex(author), newer_than=known.seq if known else None
                )
                if result.item is None:
                    if self.db.head(author) is None:
                        self._state(author, "searching", error="no head found in the DHT yet")
                    else:
                        log.info("no head of %s answered this time; keeping ours", author[:16])
                        self._ensure_media(author)
                    return
                await self.accept_head(author, result.item)
                self._state(author, "synced", synced=True)
            except InvalidInput as exc:  # already logged by accept_head
                self._state(author, "refused", error=str(exc))
            except TimeoutError:
                log.info("sync of %s timed out waiting for peers", author[:16])
                self._state(author, "stalled", error="timed out waiting for peers")
            except (SwarmfeedError, OSError) as exc:
                log.warning("sync of %s failed: %s", author[:16], exc)
                self._state(author, "error", error=str(exc))

    def _state(
        self, author: str, state: str, *, error: str | None = None, synced: bool = False
    ) -> None:
        if not self.db.is_followed(author):
            return
        self.db.set_follow_state(author, state, now=int(self.clock()), error=error, synced=synced)
        self.events.publish(FollowChanged(author, state))

    async def accept_head(self, author: str, item: MutableItem) -> None:
        """Verify ``item`` as the head of ``author`` and store every page it leads to.

        Anything refused is logged with its reason and re-raised as InvalidInput; nothing
        already stored is touched before the whole chain of pages has been verified.
        """
        try:
            await self._accept_head(author, item)
        except RolledBack as exc:
            log.warning("refused head of %s: %s", author[:16], exc)
            raise
        except InvalidInput as exc:
            log.warning("refused data of %s: %s", author[:16], exc)
            raise

    async def _accept_head(self, author: str, item: MutableItem) -> None:
        key = bytes.fromhex(author)
        if item.public_key != key:
            raise WrongAuthor(f"head signed by {item.public_key.hex()[:16]}, not {author[:16]}")
        verify_item(item)
        known = self.db.head(author)
        pointer = decode_head_value(item.value)
        stored_count = self.db.post_count(author)
        verdict = judge_head(
            known.seq if known else None,
            _stored_value(known),
            max(stored_count, known.count if known else 0),
            item.seq,
            item.value,
        )
        if verdict is HeadVerdict.SAME and stored_count >= pointer.count:
            self._ensure_media(author)
            return
        pages = await self._walk(author, pointer.infohash.hex())
        newest_ih, newest = pages[0]
        if newest.last_seq + 1 != pointer.count:
            raise RolledBack(
                f"head says {pointer.count} posts but its newest page ends at seq {newest.last_seq}"
            )
        self._store(author, pages)
        row = HeadRow(
            author, item.seq, pointer.count, newest_ih, bencoding.encode(item.to_bencodable())
        )
        self.db.set_head(row, int(self.clock()))
        atomic_write(self.layout.head_file(author), row.item)
        self._ensure_media(author)

    async def _walk(self, author: str, head_ih: str) -> list[tuple[str, FeedPage]]:
        """Fetch pages from the newest back to the first one already held (protocol.md §5)."""
        key = bytes.fromhex(author)
        known = {row.index: row for row in self.db.pages(author)}
        accepted = self.db.accepted_ids(author)
        collected: list[tuple[str, FeedPage]] = []
        infohash = head_ih
        expected_index: int | None = None
        while True:
            page = await self._fetch_page(key, infohash)
            verify_page(page, key)
            if expected_index is not None and page.index != expected_index:
                raise InvalidInput(
                    f"page {infohash[:16]} has index {page.index},"
                    f" the chain expects {expected_index}"
                )
            if collected and not page.is_full:
                # protocol.md §5: every page but the newest holds exactly `capacity` posts.
                raise InvalidInput(f"older page {page.index} of the chain is not full")
            check_log_consistency(accepted, page)
            collected.append((infohash, page))
            if page.index == 0 or page.prev is None:
                return collected
            older = known.get(page.index - 1)
            if older is not None and older.full and older.infohash == page.prev.hex():
                return collected
            expected_index = page.index - 1
            infohash = page.prev.hex()

    async def _fetch_page(self, author: bytes, infohash: str) -> FeedPage:
        page = self.shelf.read_page(infohash) if self.engine.has(infohash) else None
        if page is not None:
            return page
        await self.engine.add_magnet(
            bytes.fromhex(infohash),
            None,
            self.layout.save_path(infohash),
            check_metadata=lambda info: check_page_metadata(info, author),
            peers=self._peer_hints(author.hex()),
        )
        self.db.add_torrent(TorrentRow(infohash, "page", author.hex(), None), int(self.clock()))
        await self.engine.wait_metadata(infohash, timeout=self.timings.page_timeout)
        await self.engine.wait_finished(infohash, timeout=self.timings.page_timeout)
        page = self.shelf.read_page(infohash)
        if page is None:
            raise InvalidInput(f"page torrent {infohash[:16]} finished but holds no page file")
        return page

    def _peer_hints(self, author: str) -> list[tuple[str, int]]:
        """Return peers of the author's torrents we hold: the author likely seeds the new one.

        A new page or media torrent is otherwise found only through a DHT lookup (BEP 5), which
        is slow right after the author announced it; these peers give its metadata (BEP 9) at once.
        """
        return self.engine.peer_hints(row.infohash for row in self.db.torrents(author))

    def _store(self, author: str, pages: list[tuple[str, FeedPage]]) -> None:
        now = int(self.clock())
        previous = {row.index: row for row in self.db.pages(author)}
        for infohash, page in reversed(pages):
            added = self.db.add_posts(list(page.posts), now)
            self.db.set_page(
                PageRow(author, page.index, infohash, page.first, len(page.posts), page.is_full)
            )
            if page.profile is not None:
                self.db.set_profile(author, page.profile.name, page.profile.bio)
            replaced = previous.get(page.index)
            if replaced is not None and replaced.infohash != infohash:
                # A newer version of a not-yet-full page supersedes the one we seeded.
                self.engine.remove(replaced.infohash, delete_files=True)
                self.db.remove_torrent(replaced.infohash)
            for signed in added:
                self.events.publish(PostAdded(signed.id, author, signed.post.seq))
            log.info("stored page %d of %s: %d new posts", page.index, author[:16], len(added))

    def _ensure_media(self, author: str) -> None:
        """Start fetching (and so seeding) the media of every stored post of ``author``."""
        for stored in self.db.timeline([author], limit=1_000_000):
            media = stored.signed.post.media
            if media is None:
                continue
            infohash = media.infohash.hex()
            if self.engine.has(infohash) or infohash in self._refused_media:
                continue
            task = asyncio.create_task(self._fetch_media(author, stored.signed, media))
            self._media_tasks.add(task)
            task.add_done_callback(self._media_tasks.discard)

    async def _fetch_media(self, author: str, signed: SignedPost, media: MediaRef) -> None:
        infohash = media.infohash.hex()
        try:
            await self.engine.add_magnet(
                media.infohash,
                media.infohash_v2,
                self.layout.save_path(infohash),
                name=media.name,
                check_metadata=lambda info: check_media_metadata(info, media),
                peers=self._peer_hints(author),
            )
            self.db.add_torrent(TorrentRow(infohash, "media", author, signed.id), int(self.clock()))
        except SwarmfeedError as exc:
            self._refused_media.add(infohash)
            log.warning("media %s of post %s refused: %s", infohash[:16], signed.id[:16], exc)

    def note_refused(self, infohash: str) -> None:
        """Remember a media torrent whose metadata was refused so it is not fetched again."""
        self._refused_media.add(infohash)

    # keeping authors findable ----------------------------------------------------------------

    async def _republish_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timings.republish_interval)  # periodic timer, not a wait
            await self.republish_heads()

    async def republish_heads(self) -> None:
        """Re-put every followed author's latest signed head unchanged (BEP 44 allows it)."""
        for author in self.db.followed_authors():
            head = self.db.head(author)
            if head is None:
                continue
            item = MutableItem.from_bencodable(bencoding.decode(head.item, max_size=4096))
            try:
                result = await self.dht.put_mutable(item)
                log.info(
                    "re-put head of %s (seq %d) on %d nodes", author[:16], item.seq, result.stored
                )
            except (SwarmfeedError, OSError) as exc:
                log.warning("re-put of %s failed: %s", author[:16], exc)


def _stored_value(head: HeadRow | None) -> bytes | None:
    if head is None:
        return None
    return MutableItem.from_bencodable(bencoding.decode(head.item, max_size=4096)).value

"""The author's own feed pages (protocol.md §5): built from the own log, seeded, rebuilt if lost.

Pages are derived data: every post they hold is in ``feed/posts``. A full page carries no
profile and its torrent uses fixed 16 KiB pieces, so it can be rebuilt byte for byte (same
infohash) from its posts and the infohash of the page before it. The newest page is replaced
by a new torrent on every post; a damaged or missing newest page is rebuilt from the posts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from swarmfeed.core.authoring import Blocked
from swarmfeed.core.bep44 import MutableItem
from swarmfeed.core.feed import (
    PAGE_CAPACITY,
    FeedPage,
    HeadPointer,
    Profile,
    decode_head_value,
    decode_page,
    next_page,
    page_sha256,
    verify_page,
)
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import SignedPost
from swarmfeed.core.sync import newest_index
from swarmfeed.errors import InvalidInput
from swarmfeed.node.ownlog import OwnLog
from swarmfeed.node.torrents import TorrentShelf
from swarmfeed.store.database import Database, PageRow, TorrentRow

log = logging.getLogger("swarmfeed.ownpages")


@dataclass(frozen=True)
class NewestPage:
    """The newest page of our chain and the infohash of its torrent."""

    page: FeedPage
    infohash: str
    rebuilt: bool = False
    """True when it had to be rebuilt from the posts (its infohash may be new)."""

    def pointer(self) -> HeadPointer:
        """Return the head value naming this page (with the SHA-256 of its bytes)."""
        return HeadPointer(
            bytes.fromhex(self.infohash), self.page.last_seq + 1, page_sha256(self.page.encode())
        )


class OwnPages:
    """Keeps our chain of pages seeded and its newest page in memory."""

    def __init__(
        self,
        keys: KeyPair,
        db: Database,
        shelf: TorrentShelf,
        own_log: OwnLog,
        clock: Callable[[], float],
    ) -> None:
        self.keys = keys
        self.author = keys.public_key.hex()
        self.db = db
        self.shelf = shelf
        self.own_log = own_log
        self.clock = clock
        self.newest: NewestPage | None = None

    async def load_newest(
        self, published: int, head: MutableItem | None, profile: Profile | None = None
    ) -> NewestPage | None:
        """Find the page holding post ``published - 1`` on disk, or rebuild it from the posts."""
        if published == 0:
            self.newest = None
            return None
        index = newest_index(published)
        candidates: list[str] = []
        if head is not None:
            pointer = decode_head_value(head.value)
            if pointer.count == published:
                candidates.append(pointer.infohash.hex())
        row = self.db.feeds.page(self.author, index)
        if row is not None:
            candidates.append(row.infohash)
        for infohash in dict.fromkeys(candidates):
            page = await self.read(infohash)
            if page is not None and page.index == index and page.last_seq + 1 == published:
                self.newest = NewestPage(page, infohash)
                return self.newest
        log.warning(
            "the newest page of our feed (page %d) is missing or damaged on disk;"
            " rebuilding it from the signed posts",
            index,
        )
        page = await self._rebuild(index, published, profile)
        created = await self.shelf.seed_page(page)
        infohash = created.infohash.hex()
        self._index(page, infohash)
        self.newest = NewestPage(page, infohash, rebuilt=True)
        return self.newest

    def head_infohash(self) -> str | None:
        """Return the infohash of the page our signed head on disk names."""
        head = self.own_log.head()
        if head is None:
            return None
        try:
            return decode_head_value(head.value).infohash.hex()
        except InvalidInput:
            return None

    async def read(self, infohash: str) -> FeedPage | None:
        """Return our verified page stored for ``infohash``, or None (logged) if unusable."""
        data = self.shelf.page_bytes(infohash)
        if data is None:
            return None

        def decode() -> FeedPage:
            page = decode_page(data)
            verify_page(page, self.keys.public_key)
            return page

        try:
            return await asyncio.to_thread(decode)
        except InvalidInput as exc:
            log.error("our page %s on disk is not valid: %s", infohash[:16], exc)
            return None

    def newest_replaceable(self) -> str | None:
        """Return the newest page's infohash when the next post replaces it (it is not full)."""
        if self.newest is None or self.newest.page.is_full:
            return None
        return self.newest.infohash

    async def append(self, posts: Sequence[SignedPost], profile: Profile | None) -> NewestPage:
        """Append posts to the newest page (starting new pages as they fill) and seed them."""
        if not posts:
            raise InvalidInput("nothing to append")
        page = self.newest.page if self.newest else None
        infohash = self.newest.infohash if self.newest else None
        for position, signed in enumerate(posts):
            prev_sha = await self._prev_sha256(page) if page is not None else None
            page = next_page(
                page,
                bytes.fromhex(infohash) if infohash else None,
                signed,
                profile,
                prev_sha256=prev_sha,
            )
            if page.is_full or position == len(posts) - 1:
                created = await self.shelf.seed_page(page)
                infohash = created.infohash.hex()
                self._index(page, infohash)
        assert page is not None and infohash is not None
        self.newest = NewestPage(page, infohash)
        return self.newest

    def drop(self, infohash: str) -> None:
        """Stop seeding a replaced newest page (protocol.md §5: only full pages persist)."""
        self.shelf.discard(infohash)
        self.db.torrents.remove(infohash)

    async def reseed(self, row: PageRow) -> bool:
        """Seed our page ``row`` again from its file, or rebuilt from the posts if it is full."""
        if await self.shelf.reseed_page(row.infohash, authored=True):
            return True
        if not row.full:
            return False  # the newest page: load_newest rebuilds it (its head may change)
        page = await self._rebuild(row.index, row.first + row.count, None)
        created = await self.shelf.seed_page(page)
        if created.infohash.hex() != row.infohash:
            log.error(
                "page %d rebuilt from the posts has infohash %s, not %s (made by an older"
                " version with a profile?); followers still seed the original",
                row.index,
                created.infohash.hex()[:16],
                row.infohash[:16],
            )
            self.shelf.discard(created.infohash.hex())
            return False
        return True

    async def _rebuild(self, index: int, count: int, profile: Profile | None) -> FeedPage:
        first = index * PAGE_CAPACITY
        posts: list[SignedPost] = []
        for seq in range(first, count):
            signed = self.own_log.post(seq)
            if signed is None:
                raise Blocked(f"our post {seq} is on no copy on this node; page {index} is lost")
            posts.append(signed)
        prev = await self._page_infohash(index - 1) if index > 0 else None
        page = FeedPage(
            self.keys.public_key, index, first, PAGE_CAPACITY, prev, tuple(posts), profile
        )
        if page.version >= 2:
            # Version 2 pages name their predecessor's bytes too, and carry no profile.
            prevh = await self._page_sha256(index - 1) if index > 0 else None
            return replace(page, profile=None, prevh=prevh)
        return replace(page, profile=None) if page.is_full else page

    async def _prev_sha256(self, page: FeedPage) -> bytes | None:
        """Return the SHA-256 of the page before ``page`` when appending may need it.

        Only a version 1 page that a version 2 post joins needs it (protocol.md §5).
        """
        if page.version >= 2 or page.index == 0 or page.is_full:
            return None
        return await self._page_sha256(page.index - 1)

    async def _page_sha256(self, index: int) -> bytes:
        """Return the SHA-256 of the bytes of our full page ``index`` (rebuilt if lost)."""
        infohash = (await self._page_infohash(index)).hex()
        data = self.shelf.page_bytes(infohash)
        if data is None:
            page = await self._rebuild(index, (index + 1) * PAGE_CAPACITY, None)
            return page_sha256(page.encode())
        return page_sha256(data)

    async def _page_infohash(self, index: int) -> bytes:
        """Return the infohash of our full page ``index`` (rebuilt and seeded if unknown)."""
        row = self.db.feeds.page(self.author, index)
        if row is not None and row.full:
            return bytes.fromhex(row.infohash)
        page = await self._rebuild(index, (index + 1) * PAGE_CAPACITY, None)
        created = await self.shelf.seed_page(page)
        self._index(page, created.infohash.hex())
        log.warning("page %d of our feed was rebuilt from the signed posts", index)
        return created.infohash

    def _index(self, page: FeedPage, infohash: str) -> None:
        self.db.feeds.set_page(
            PageRow(
                self.author,
                page.index,
                infohash,
                page.first,
                len(page.posts),
                page.is_full,
                page.prev.hex() if page.prev else None,
            )
        )
        self.db.torrents.add(TorrentRow(infohash, "page", self.author, None), int(self.clock()))

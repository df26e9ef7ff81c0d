"""Rebuilding the index from the signed logs on disk (the database is a view of them)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem
from swarmfeed.core.feed import FeedPage, decode_head_value, decode_page, verify_page
from swarmfeed.core.followfile import FollowKind
from swarmfeed.core.posts import SignedPost
from swarmfeed.errors import SwarmfeedError
from swarmfeed.node.followlist import FollowList
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.mediaqueue import MediaQueue
from swarmfeed.node.torrents import TorrentShelf
from swarmfeed.store.database import Database, HeadRow, PageRow, TorrentRow

log = logging.getLogger("swarmfeed.rebuild")


class IndexRebuilder:
    """Walks our own head and every followed author's head through the pages on disk."""

    def __init__(
        self,
        author: str,
        layout: HomeLayout,
        db: Database,
        shelf: TorrentShelf,
        media: MediaQueue,
        clock: Callable[[], float],
        index_own_media: Callable[[Sequence[SignedPost]], None],
    ) -> None:
        self.author = author
        self.index_own_media = index_own_media
        """Records our own posts' media as complete (Publisher.index_media)."""
        self.layout = layout
        self.db = db
        self.shelf = shelf
        self.media = media
        self.clock = clock

    def rebuild(self, own_head: MutableItem | None) -> None:
        """Recreate the index from the logs: our chain, the follow list, followed chains."""
        if own_head is not None:
            self._index_chain(self.author, own_head)
        follow_list = FollowList(self.layout.follow_list)
        authors = set(follow_list.authors())
        if self.layout.heads.is_dir():
            authors |= {path.stem for path in self.layout.heads.glob("*.bencode")}
        for author in sorted(authors):
            kind = follow_list.kind(author) or FollowKind.FOLLOW
            self.db.follows.add(author, int(self.clock()), kind.value)
            path = self.layout.head_file(author)
            if not path.exists():
                continue
            try:
                item = MutableItem.from_bencodable(
                    bencoding.decode(path.read_bytes(), max_size=4096)
                )
                self._index_chain(author, item)
            except (SwarmfeedError, OSError) as exc:
                log.warning("could not rebuild %s from its log: %s", author[:16], exc)
        log.info("rebuilt the index from the logs on disk")

    def _index_chain(self, author: str, item: MutableItem) -> None:
        key = bytes.fromhex(author)
        pointer = decode_head_value(item.value)
        infohash: str | None = pointer.infohash.hex()
        pages: list[tuple[str, FeedPage]] = []
        while infohash is not None:
            data = self.shelf.page_bytes(infohash)
            if data is None:
                log.warning("page %s of %s is not on disk", infohash[:16], author[:16])
                break
            page = decode_page(data)
            verify_page(page, key)
            pages.append((infohash, page))
            infohash = page.prev.hex() if page.prev else None
        now = int(self.clock())
        for page_ih, page in reversed(pages):
            added = self.db.posts.add(list(page.posts), now)
            prev = page.prev.hex() if page.prev else None
            self.db.feeds.set_page(
                PageRow(
                    author, page.index, page_ih, page.first, len(page.posts), page.is_full, prev
                )
            )
            self.db.torrents.add(TorrentRow(page_ih, "page", author, None), now)
            if page.profile is not None:
                self.db.feeds.set_profile(author, page.profile.name, page.profile.bio)
            if author == self.author:
                # Our own media is complete here (a lost index must not orphan its files).
                self.index_own_media(added)
            else:
                self.media.offer(author, added, now)
        self.db.feeds.set_head(
            HeadRow(
                author,
                item.seq,
                pointer.count,
                pointer.infohash.hex(),
                bencoding.encode(item.to_bencodable()),
            ),
            now,
        )

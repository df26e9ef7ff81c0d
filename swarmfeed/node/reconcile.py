"""Start-up reconciliation: the engine holds exactly what the logs reference, nothing else.

A node may have died between any two steps of a publication, a sync, a follow or an unfollow,
and its resume data may be older than its logs. At start, after the engine restored its
torrents, every page and media bundle that our feed and each followed feed references is put
back into the engine (seeded again from its files when they hash right, otherwise fetched by
magnet), and torrents, index rows and ``content/`` folders that nothing references are removed.
One pass over the torrents at start; nothing of it runs per poll.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from swarmfeed.engine.engine import Engine
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.mediaqueue import MediaQueue
from swarmfeed.node.ownpages import OwnPages
from swarmfeed.node.torrents import TorrentShelf, check_page_metadata
from swarmfeed.store.database import Database, MediaState, PageRow, TorrentRow

log = logging.getLogger("swarmfeed.reconcile")

# Media in these states keeps its files (a queued bundle may hold a partial download).
_KEPT_MEDIA = (MediaState.QUEUED, MediaState.FETCHING, MediaState.COMPLETE)


@dataclass
class ReconcileReport:
    """What the reconciliation changed."""

    removed: list[str] = field(default_factory=list)
    """Torrents that nothing references, removed from the engine with their files."""
    reseeded: list[str] = field(default_factory=list)
    """Referenced torrents seeded again from their files."""
    fetching: list[str] = field(default_factory=list)
    """Referenced torrents whose files were gone: fetched again by magnet or re-queued."""
    orphan_folders: int = 0
    """``content/`` folders of no torrent, deleted."""


class Reconciler:
    """Brings the engine and ``content/`` in line with the logs and the index."""

    def __init__(
        self,
        author: str,
        layout: HomeLayout,
        db: Database,
        engine: Engine,
        shelf: TorrentShelf,
        own_pages: OwnPages,
        media: MediaQueue,
        clock: Callable[[], float],
    ) -> None:
        self.author = author
        self.layout = layout
        self.db = db
        self.engine = engine
        self.shelf = shelf
        self.own_pages = own_pages
        self.media = media
        self.clock = clock

    def _pages(self) -> dict[str, PageRow]:
        """Return every page of our feed and of each followed feed, by infohash."""
        pages: dict[str, PageRow] = {}
        for author in [self.author, *self.db.follows.authors()]:
            for row in self.db.feeds.pages(author):
                pages[row.infohash] = row
        return pages

    async def run(self) -> ReconcileReport:
        """Reconcile once (call after the engine restored its torrents)."""
        report = ReconcileReport()
        pages = self._pages()
        media = {
            row.infohash: row
            for state in _KEPT_MEDIA
            for row in self.db.media.in_state(state)
            if row.author == self.author or self.db.follows.contains(row.author)
        }
        referenced = set(pages) | set(media)
        # The page our signed head names stays until a newer head replaces it (a crash may
        # have come between indexing its successor and signing the head naming it).
        head_page = self.own_pages.head_infohash()
        if head_page is not None:
            referenced.add(head_page)
        held = set()
        for infohash in self.engine.infohashes():
            if self.layout.save_path(infohash).is_dir():
                held.add(infohash)
            else:
                # Its files are gone (deleted by hand): restore it like a lost torrent.
                self.engine.remove(infohash, delete_files=False)
        for infohash in sorted(held - referenced):
            self.shelf.discard(infohash)
            report.removed.append(infohash)
        for infohash in self.db.torrents.infohashes() - referenced:
            self.db.torrents.remove(infohash)
        report.orphan_folders = self._remove_orphan_folders(referenced)
        now = int(self.clock())
        for infohash, page in pages.items():
            if infohash in held:
                self.db.torrents.add(TorrentRow(infohash, "page", page.author, None), now)
                continue
            if await self._restore_page(page):
                report.reseeded.append(infohash)
            else:
                report.fetching.append(infohash)
        for infohash, row in media.items():
            if infohash in held:
                continue
            complete = row.state is MediaState.COMPLETE
            if complete and await self._reseed_media(row.post_id, row.author):
                report.reseeded.append(infohash)
                continue
            if row.author == self.author or row.state is not MediaState.QUEUED:
                # Gone from the engine (and its files did not hash right): fetch it again;
                # for our own media, followers may hold it.
                self.media.requeue(infohash)
                report.fetching.append(infohash)
        if report.removed or report.reseeded or report.fetching or report.orphan_folders:
            log.warning(
                "reconciled with the logs: %d unreferenced torrents removed, %d seeded again"
                " from their files, %d fetched again, %d orphan folders deleted",
                len(report.removed),
                len(report.reseeded),
                len(report.fetching),
                report.orphan_folders,
            )
        return report

    async def _restore_page(self, page: PageRow) -> bool:
        if page.author == self.author:
            return await self.own_pages.reseed(page)
        if await self.shelf.reseed_page(page.infohash, authored=False):
            return True
        key = bytes.fromhex(page.author)
        await self.engine.add_magnet(
            bytes.fromhex(page.infohash),
            None,
            self.layout.save_path(page.infohash),
            check_metadata=lambda info: check_page_metadata(info, key),
        )
        self.db.torrents.add(TorrentRow(page.infohash, "page", page.author, None), 0)
        return False

    async def _reseed_media(self, post_id: str, author: str) -> bool:
        stored = self.db.posts.get(post_id)
        media = stored.signed.post.media if stored else None
        if media is None:
            return False
        infohash = media.infohash.hex()
        if not await self.shelf.reseed_folder(infohash, media.name, authored=author == self.author):
            return False
        self.db.torrents.add(TorrentRow(infohash, "media", author, post_id), int(self.clock()))
        return True

    def _remove_orphan_folders(self, referenced: set[str]) -> int:
        content = self.layout.content
        if not content.is_dir():
            return 0
        held = set(self.engine.infohashes())
        removed = 0
        for folder in content.iterdir():
            if folder.name in referenced or folder.name in held:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        return removed

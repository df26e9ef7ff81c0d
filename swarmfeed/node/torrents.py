"""Turning files into seeded torrents and finding a torrent's files in the node's home."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from swarmfeed.core import bencoding
from swarmfeed.core.feed import MAX_PAGE_BYTES, FeedPage
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import CreatedTorrent
from swarmfeed.errors import InvalidInput, TooLarge
from swarmfeed.node.layout import HomeLayout
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.torrents")

Progress = Callable[[int, int], None]

PAGE_PIECE_BYTES = 16 * 1024
"""Piece size of page torrents: fixed, so a page's infohash depends on its bytes alone
(what libtorrent 2.1 also picks for pages up to 4 MiB)."""

PAGE_FILE = re.compile(r"^swarmfeed-[0-9a-f]{16}-page-[0-9]{1,12}\.bencode$")
"""The file name of a page torrent (protocol.md §5)."""


class TorrentShelf:
    """Creates torrents from staged files, moves them into place and seeds them."""

    def __init__(self, layout: HomeLayout, engine: Engine) -> None:
        self.layout = layout
        self.engine = engine

    def new_staging_dir(self) -> Path:
        """Return a fresh, empty folder under the staging area."""
        path = self.layout.staging / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    async def seed_folder(
        self,
        staging: Path,
        root_name: str,
        progress: Progress | None = None,
        *,
        v1_only: bool = False,
        piece_size: int = 0,
    ) -> CreatedTorrent:
        """Hash ``staging/root_name`` into a torrent, move it to its save path and seed it.

        The torrent is this node's own content: the seeding policy treats it as authored.
        """
        created = await asyncio.to_thread(
            create_torrent, staging / root_name, progress, v1_only=v1_only, piece_size=piece_size
        )
        infohash = created.infohash.hex()
        final = self.layout.save_path(infohash)
        if final.exists():
            shutil.rmtree(staging, ignore_errors=True)
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(final)
        await self.engine.add_torrent(created.torrent, final, seed_mode=True, authored=True)
        return created

    async def seed_page(self, page: FeedPage) -> CreatedTorrent:
        """Write ``page`` as a single-file v1 torrent (protocol.md §5) and seed it."""
        staging = self.new_staging_dir()
        atomic_write(staging / page.file_name, page.encode())
        return await self.seed_folder(
            staging, page.file_name, v1_only=True, piece_size=PAGE_PIECE_BYTES
        )

    def discard(self, infohash: str) -> None:
        """Remove torrent ``infohash`` from the engine and delete its folder under content/."""
        self.engine.remove(infohash, delete_files=True)
        # libtorrent deletes the torrent's files, not the save path made for it.
        shutil.rmtree(self.layout.save_path(infohash), ignore_errors=True)

    def page_path(self, infohash: str) -> Path | None:
        """Return the page file of torrent ``infohash`` (by its §5 name), or None."""
        folder = self.layout.save_path(infohash)
        if not folder.is_dir():
            return None
        # Other files in the folder (a .DS_Store, a backup copy) are not part of the torrent.
        names = [p for p in folder.iterdir() if PAGE_FILE.match(p.name) and p.is_file()]
        return names[0] if len(names) == 1 else None

    def page_bytes(self, infohash: str) -> bytes | None:
        """Return the bytes of the page stored for torrent ``infohash``, or None if absent."""
        path = self.page_path(infohash)
        if path is None:
            return None
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise TooLarge(f"page {infohash} is larger than {MAX_PAGE_BYTES} bytes")
        return path.read_bytes()

    async def reseed_page(self, infohash: str, *, authored: bool) -> bool:
        """Seed the page file of ``infohash`` again if it hashes to that infohash."""
        path = self.page_path(infohash)
        if path is None:
            return False
        return await self._reseed(
            infohash, path, v1_only=True, piece_size=PAGE_PIECE_BYTES, authored=authored
        )

    async def reseed_folder(self, infohash: str, name: str, *, authored: bool) -> bool:
        """Seed the media folder ``name`` of ``infohash`` again if it hashes to that infohash."""
        root = self.layout.save_path(infohash) / name
        if not root.is_dir():
            return False
        return await self._reseed(infohash, root, v1_only=False, piece_size=0, authored=authored)

    async def _reseed(
        self, infohash: str, root: Path, *, v1_only: bool, piece_size: int, authored: bool
    ) -> bool:
        try:
            created = await asyncio.to_thread(
                create_torrent, root, None, v1_only=v1_only, piece_size=piece_size
            )
        except (InvalidInput, OSError, RuntimeError) as exc:
            log.warning("could not hash %s again: %s", root, exc)
            return False
        if created.infohash.hex() != infohash:
            return False
        await self.engine.add_torrent(
            created.torrent, self.layout.save_path(infohash), seed_mode=True, authored=authored
        )
        return True


def check_page_metadata(info_section: bytes, author: bytes) -> None:
    """Refuse page metadata that is not one small file named as protocol.md §5 requires."""
    info = bencoding.dictionary(bencoding.decode(info_section), "info dict")
    name = bencoding.text(info.get(b"name"), "page name", max_bytes=255)
    expected_prefix = f"swarmfeed-{author.hex()[:16]}-page-"
    if not (name.startswith(expected_prefix) and name.endswith(".bencode")):
        raise InvalidInput(f"page torrent name {name!r} is not a page of this author")
    if not PAGE_FILE.match(name):
        raise InvalidInput(f"page torrent name {name!r} is not a safe file name")
    if b"files" in info:
        raise InvalidInput("a page torrent must hold exactly one file")
    length = bencoding.integer(info.get(b"length"), "page length", minimum=1)
    if length > MAX_PAGE_BYTES:
        raise TooLarge(f"page of {length} bytes is over the {MAX_PAGE_BYTES}-byte limit")

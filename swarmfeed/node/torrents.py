"""Turning files into seeded torrents and finding a torrent's files in the node's home."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from swarmfeed.core import bencoding
from swarmfeed.core.feed import MAX_PAGE_BYTES, FeedPage, decode_page
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import CreatedTorrent
from swarmfeed.errors import InvalidInput, TooLarge
from swarmfeed.node.layout import HomeLayout
from swarmfeed.store.files import atomic_write

Progress = Callable[[int, int], None]


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
    ) -> CreatedTorrent:
        """Hash ``staging/root_name`` into a torrent, move it to its save path and seed it.

        The torrent is this node's own content: the seeding policy treats it as authored.
        """
        created = await asyncio.to_thread(
            create_torrent, staging / root_name, progress, v1_only=v1_only
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
        return await self.seed_folder(staging, page.file_name, v1_only=True)

    def read_page(self, infohash: str) -> FeedPage | None:
        """Return the page stored for torrent ``infohash``, or None if it is not on disk."""
        folder = self.layout.save_path(infohash)
        if not folder.is_dir():
            return None
        files = [path for path in folder.iterdir() if path.is_file()]
        if len(files) != 1:
            return None
        if files[0].stat().st_size > MAX_PAGE_BYTES:
            raise TooLarge(f"page {infohash} is larger than {MAX_PAGE_BYTES} bytes")
        return decode_page(files[0].read_bytes())


def check_page_metadata(info_section: bytes, author: bytes) -> None:
    """Refuse page metadata that is not one small file named as protocol.md §5 requires."""
    info = bencoding.dictionary(bencoding.decode(info_section), "info dict")
    name = bencoding.text(info.get(b"name"), "page name", max_bytes=255)
    expected_prefix = f"swarmfeed-{author.hex()[:16]}-page-"
    if not (name.startswith(expected_prefix) and name.endswith(".bencode")):
        raise InvalidInput(f"page torrent name {name!r} is not a page of this author")
    if "/" in name or "\\" in name or ".." in name or "\x00" in name:
        raise InvalidInput(f"page torrent name {name!r} is not a safe file name")
    if b"files" in info:
        raise InvalidInput("a page torrent must hold exactly one file")
    length = bencoding.integer(info.get(b"length"), "page length", minimum=1)
    if length > MAX_PAGE_BYTES:
        raise TooLarge(f"page of {length} bytes is over the {MAX_PAGE_BYTES}-byte limit")

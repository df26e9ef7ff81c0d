"""Reading one page of a log we do not follow (notices, watched originals): fetch, check, drop.

The page is fetched by magnet with the §5 metadata check (one small file named for its
author, at most 8 MiB), checked against the SHA-256 the head or the newer page names, verified
(every post signed by the author), and removed again unless the node held it already: a page of
an author nobody here follows is read once, never seeded. Its peers come from the author's
rendezvous (protocol.md §7.1) as for the pages of followed authors: at once, and again while
the page waits for its metadata. The rendezvous is only looked up, never announced: reading a
page does not make this node a holder of its author.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from swarmfeed.core.feed import FeedPage, decode_page, page_sha256, verify_page
from swarmfeed.engine.engine import Engine
from swarmfeed.errors import InvalidInput
from swarmfeed.node.authorpeers import Endpoint, wait_metadata_with_peers
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.torrents import TorrentShelf, check_page_metadata

PAGE_TIMEOUT = 20.0
"""Seconds a page may take; a page its author replaced never comes (the caller asks again)."""


class PageReader:
    """Fetches and verifies single pages of any author."""

    def __init__(
        self,
        engine: Engine,
        shelf: TorrentShelf,
        layout: HomeLayout,
        peers: Callable[[str], Awaitable[list[Endpoint]]],
        timeout: float = PAGE_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.peers = peers
        self.shelf = shelf
        self.layout = layout
        self.timeout = timeout
        self._inflight: dict[str, asyncio.Task[bytes | None]] = {}

    async def read(self, author: bytes, infohash: str, sha256: bytes | None) -> FeedPage:
        """Return the verified page ``infohash`` of ``author`` (TimeoutError if none came).

        Readers of the same page at the same time share one fetch.
        """
        task = self._inflight.get(infohash)
        if task is None:
            task = asyncio.create_task(self._fetch(author, infohash))
            self._inflight[infohash] = task
            task.add_done_callback(lambda _task: self._inflight.pop(infohash, None))
        data = await asyncio.shield(task)
        if data is None:
            raise InvalidInput("the page torrent holds no page file")
        if sha256 is not None and page_sha256(data) != sha256:
            raise InvalidInput("the page does not match the SHA-256 that names it")
        page = await asyncio.to_thread(decode_page, data)
        await asyncio.to_thread(verify_page, page, author)
        return page

    async def _fetch(self, author: bytes, infohash: str) -> bytes | None:
        held = self.engine.has(infohash)
        if not held:
            await self.engine.add_magnet(
                bytes.fromhex(infohash),
                None,
                self.layout.save_path(infohash),
                check_metadata=lambda info: check_page_metadata(info, author),
                peers=await self.peers(author.hex()),  # the author's rendezvous (§7.1)
            )
        try:
            await wait_metadata_with_peers(
                self.engine, infohash, self.timeout, lambda: self.peers(author.hex())
            )
            await self.engine.wait_finished(infohash, timeout=self.timeout)
            data = self.shelf.page_bytes(infohash)
        finally:
            if not held:
                self.shelf.discard(infohash)
        return data

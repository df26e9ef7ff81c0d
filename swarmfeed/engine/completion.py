"""Completion: a torrent is done when every wanted piece passed its check *and* is in its files.

libtorrent posts ``torrent_finished_alert`` once every wanted piece passed its hash check,
perhaps before the disk cache wrote the last blocks; the engine flushes the cache first and
only then reports ``TorrentFinished`` and wakes ``wait_finished``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.flushes import DiskFlushes
from swarmfeed.engine.peers import PeerBook
from swarmfeed.engine.status import StatusCache
from swarmfeed.engine.table import EngineState, Torrent, key_of
from swarmfeed.engine.types import TorrentFinished
from swarmfeed.engine.waiters import Waiters
from swarmfeed.errors import SwarmfeedError


class Completion:
    """Decides when a torrent is complete and on disk; wakes its waiters and reports it once."""

    def __init__(
        self,
        state: EngineState,
        statuses: StatusCache,
        flushes: DiskFlushes,
        peers: PeerBook,
        save_resume: Callable[[Torrent], None],
    ) -> None:
        self.state = state
        self.statuses = statuses
        self.flushes = flushes
        self.peers = peers
        self.save_resume = save_resume
        self.waiters: Waiters[str] = Waiters()
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for finished torrents."""
        alerts.on(lt.torrent_finished_alert, self._on_finished)

    def is_complete(self, torrent: Torrent) -> bool:
        """Return True when ``torrent`` has checked metadata and every wanted byte."""
        if torrent.held or torrent.releasing:
            return False
        status = self.statuses.refresh(torrent)
        return status.has_metadata and status.total_done >= status.total_wanted

    async def wait_finished(self, torrent: Torrent, timeout: float | None) -> None:
        """Wait until ``torrent`` is complete and in its files (at once if it is)."""
        if not self.is_complete(torrent) or torrent.finishing:
            await self.waiters.wait(torrent.key, timeout)
        elif not torrent.on_disk:
            # Complete, but its torrent_finished_alert is not handled yet (or never comes, as
            # for seed mode): make sure nothing of it waits in the disk cache.
            await self.flushes.flush(torrent, timeout)
            torrent.on_disk = True

    async def stop(self) -> None:
        """Cancel the pending flush waits."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def forget(self, key: str, error: BaseException) -> None:
        """Fail the waiters of a removed torrent."""
        self.waiters.fail(key, error)

    def _on_finished(self, alert: Any) -> None:
        torrent = self.state.table.get(key_of(alert.handle))
        if torrent is not None:
            self.notice(torrent)

    def notice(self, torrent: Torrent) -> None:
        """Report ``torrent`` finished once its bytes are in the files, if it is complete."""
        # With default_dont_download a torrent "finishes" at once with nothing wanted; that
        # alert may still be queued after the check released its files.
        if torrent.finishing or not self.is_complete(torrent):
            return
        status = torrent.status
        if torrent.restored and status is not None and status.total_download == 0:
            # Restored complete from resume data: its bytes were in the files before this
            # session, nothing to flush, report or save (10,000 of these come at a restart).
            torrent.on_disk = True
            self.waiters.resolve(torrent.key)
            return
        torrent.finishing = True
        task = asyncio.create_task(self._finish_when_flushed(torrent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_when_flushed(self, torrent: Torrent) -> None:
        try:
            await self.flushes.flush(torrent, None)
        except SwarmfeedError:
            return  # removed meanwhile; its waiters were failed with the reason
        finally:
            torrent.finishing = False
        if self.state.table.get(torrent.key) is not torrent:
            return
        status = torrent.status
        if torrent.completed_at is None and status is not None and status.total_download > 0:
            torrent.completed_at = time.time()
            self.statuses.refresh(torrent)
        torrent.on_disk = True
        self.peers.remember(torrent)
        self.waiters.resolve(torrent.key)
        self.save_resume(torrent)
        self.state.emit(TorrentFinished(torrent.key))

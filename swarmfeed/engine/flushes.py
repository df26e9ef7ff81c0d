"""Disk-cache flushes: a fence behind every write libtorrent has queued for a torrent.

libtorrent reports a piece (and a finished torrent) once it passes its hash check, which may be
before its last blocks leave the disk cache; a reader of the file would then see zeros.
``flush_cache`` answers with a ``cache_flushed_alert`` once everything queued before it is
written; answers come in request order, so the n-th answer of a torrent closes its n-th request.
"""

from __future__ import annotations

from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.table import EngineState, Torrent, key_of
from swarmfeed.engine.waiters import Waiters


class DiskFlushes:
    """Numbered flush requests per torrent and the waiters of each."""

    def __init__(self, state: EngineState) -> None:
        self.state = state
        self._asked: dict[str, int] = {}
        self._answered: dict[str, int] = {}
        self.waiters: Waiters[tuple[str, int]] = Waiters()

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for flush answers."""
        alerts.on(lt.cache_flushed_alert, self._on_flushed)

    def request(self, torrent: Torrent) -> int:
        """Ask libtorrent to write ``torrent``'s disk cache out; return the request's ticket."""
        ticket = self._asked.get(torrent.key, 0) + 1
        self._asked[torrent.key] = ticket
        torrent.handle.flush_cache()
        return ticket

    async def flush(self, torrent: Torrent, timeout: float | None) -> None:
        """Wait until everything written to ``torrent`` so far is in its files."""
        await self.waiters.wait((torrent.key, self.request(torrent)), timeout)

    def forget(self, key: str, error: BaseException) -> None:
        """Fail the waiters of a removed torrent and drop its counters."""
        self._asked.pop(key, None)
        self._answered.pop(key, None)
        self.waiters.fail_where(lambda k: k[0] == key, error)

    def _on_flushed(self, alert: Any) -> None:
        handle = alert.handle
        if not handle.is_valid():
            return
        key = key_of(handle)
        done = self._answered.get(key, 0) + 1
        self._answered[key] = done
        self.waiters.resolve_where(lambda k: k[0] == key and k[1] <= done)

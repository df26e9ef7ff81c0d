"""Torrent statuses kept from libtorrent's state updates, so reading them costs no libtorrent call.

Once a second the engine asks for ``post_torrent_updates``; libtorrent answers with one
``state_update_alert`` holding the status of only the torrents that changed since the last
call (../shared/NOTES.md). Each status is copied into its torrent's record. Per-second work is
then proportional to the torrents that move, not to the torrents held.

libtorrent posts a torrent while its (low-pass) transfer rate is above zero, so the second its
traffic stops is never posted: torrents whose cached status shows traffic and that were left
out of an update are asked once more, directly. The same updates say which torrents have
changed since their resume data was last saved (``need_save_resume_data``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.table import EngineState, Torrent
from swarmfeed.engine.types import TorrentStatus
from swarmfeed.engine.waiters import Waiters

_UPDATE = "update"

UPDATE_SLICE = 500
"""Statuses taken from one state update before the loop serves others (about 5 ms)."""

IF_COUNTERS_CHANGED = 1 << 3
"""libtorrent's ``if_counters_changed`` resume-data reason: set all the time for a running
torrent (its active-time counters tick), so it alone is no reason to save."""


def to_status(s: Any, torrent: Torrent) -> TorrentStatus:
    """Return swarmfeed's snapshot of libtorrent's ``torrent_status`` ``s`` of ``torrent``."""
    error = s.errc.message() if s.errc.value() != 0 else None
    state = s.state.name
    if error:
        state = "error"
    elif s.flags & lt.torrent_flags.paused:
        state = "paused"
    elif s.has_metadata and torrent.held and not s.is_seeding:
        state = "checking_metadata"
    return TorrentStatus(
        infohash=torrent.key,
        name=s.name,
        state=state,
        # A torrent held back for its metadata check wants nothing yet, and libtorrent
        # reports 1.0 for "all wanted pieces done": that is no progress at all.
        progress=float(s.progress) if s.total_wanted or s.is_seeding else 0.0,
        total_wanted=int(s.total_wanted),
        total_done=int(s.total_wanted_done),
        download_rate=int(s.download_payload_rate),
        upload_rate=int(s.upload_payload_rate),
        total_upload=int(s.total_payload_upload),
        total_download=int(s.total_payload_download),
        all_time_upload=int(s.all_time_upload),
        num_peers=int(s.num_peers),
        # Seeds drop their connections to each other (close_redundant_connections): count
        # the seeds libtorrent knows from its peer list too, not only those connected now.
        num_seeds=max(int(s.num_seeds), int(s.list_seeds)),
        is_seeding=bool(s.is_seeding),
        has_metadata=bool(s.has_metadata),
        distributed_copies=float(s.distributed_copies),
        error=error,
        save_path=str(s.save_path),
        super_seeding=bool(s.flags & lt.torrent_flags.super_seeding),
        completed_at=torrent.completed_at,
        dht=not (s.flags & lt.torrent_flags.disable_dht),
    )


def restoring_status(key: str) -> TorrentStatus:
    """Return the status of a torrent still waiting in the restore queue."""
    return TorrentStatus(
        infohash=key,
        name="",
        state="restoring",
        progress=0.0,
        total_wanted=0,
        total_done=0,
        download_rate=0,
        upload_rate=0,
        total_upload=0,
        total_download=0,
        all_time_upload=0,
        num_peers=0,
        num_seeds=0,
        is_seeding=False,
        has_metadata=False,
        distributed_copies=0.0,
        error=None,
        save_path="",
    )


class StatusCache:
    """Keeps every record's ``status`` current from state updates; tracks unsaved torrents."""

    def __init__(self, state: EngineState) -> None:
        self.state = state
        self.needs_save: set[str] = set()
        """Torrents changed since their resume data was last saved (libtorrent's view)."""
        self._active: set[str] = set()
        self.connected: set[str] = set()
        """Torrents with at least one connected peer at their last status (serving rounds)."""
        self.seeding: set[str] = set()
        """Torrents seeding at their last status (counted without a pass over every torrent)."""
        self._updates: Waiters[str] = Waiters()

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for state updates."""
        alerts.on(lt.state_update_alert, self._on_update)

    def request(self) -> None:
        """Ask libtorrent for the statuses that changed (one state_update_alert answers)."""
        if self.state.session is not None:
            self.state.session.post_torrent_updates()

    async def current(self, timeout: float | None = None) -> None:
        """Wait until an update asked for now has arrived (every cached status is current)."""
        future = self._updates.register(_UPDATE)
        self.request()
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._updates.discard(_UPDATE, future)

    def refresh(self, torrent: Torrent) -> TorrentStatus:
        """Ask libtorrent for ``torrent``'s status now and cache it."""
        self._store(torrent, torrent.handle.status())
        assert torrent.status is not None  # _store always sets it
        return torrent.status

    def forget(self, key: str) -> None:
        """Drop what is tracked of a removed torrent."""
        self.needs_save.discard(key)
        self._active.discard(key)
        self.connected.discard(key)
        self.seeding.discard(key)

    def _on_update(self, alert: Any) -> None:
        # The list holds copies: it outlives the alert. A big update (thousands of torrents
        # changed at once, as during a restore) is taken in slices, the loop serving others
        # in between.
        self._take(list(alert.status), set())

    def _take(self, statuses: list[Any], seen: set[str]) -> None:
        table = self.state.table
        for s in statuses[:UPDATE_SLICE]:
            torrent = table.get(str(s.info_hashes.v1))
            if torrent is not None:
                self._store(torrent, s)
                seen.add(torrent.key)
        if len(statuses) > UPDATE_SLICE:
            asyncio.get_running_loop().call_soon(self._take, statuses[UPDATE_SLICE:], seen)
            return
        for key in list(self._active - seen):
            torrent = table.get(key)
            if torrent is None:
                self._active.discard(key)
            else:
                self.refresh(torrent)
        self._updates.resolve(_UPDATE)

    def _store(self, torrent: Torrent, s: Any) -> None:
        status = to_status(s, torrent)
        torrent.status = status
        torrent.seeds_known = int(s.list_seeds)
        if int(s.need_save_resume_data) & ~IF_COUNTERS_CHANGED:
            self.needs_save.add(torrent.key)
        else:
            self.needs_save.discard(torrent.key)
        if status.is_seeding:
            self.seeding.add(torrent.key)
        else:
            self.seeding.discard(torrent.key)
        if status.num_peers:
            self.connected.add(torrent.key)
        else:
            self.connected.discard(torrent.key)
        if status.download_rate or status.upload_rate:
            self._active.add(torrent.key)
        else:
            self._active.discard(torrent.key)

"""Resume data: saved for the torrents that changed, written to disk off the event loop.

A torrent's resume file (``<infohash>.resume``, libtorrent's bencoded ``add_torrent_params``
with the info dict) lets it come back after a restart without re-hashing or re-downloading.
libtorrent says which torrents changed since their last save (``need_save_resume`` in the state
updates, status.py); the periodic save asks only those. Files are written by a background task
in a worker thread, a batch at a time: each file is written to a temporary name, synced and
renamed into place, and the folder is synced once per batch. Deleting a file goes through the
same queue, so a late write can never resurrect a removed torrent.

Only torrents with metadata that is not held for a check are saved: a magnet without checked
metadata has nothing worth keeping, and the node adds it again with its check.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.status import StatusCache
from swarmfeed.engine.table import EngineState, Torrent, key_of
from swarmfeed.engine.waiters import Waiters

RESUME_SUFFIX = ".resume"
_DRAINED = "drained"


def resume_path(folder: Path, key: str) -> Path:
    """Return the resume file of torrent ``key``."""
    return folder / f"{key}{RESUME_SUFFIX}"


def _write_batch(folder: Path, batch: dict[str, bytes | None]) -> None:
    """Write (or delete, for None) every resume file of ``batch``; sync the folder once."""
    for key, data in batch.items():
        path = resume_path(folder, key)
        if data is None:
            path.unlink(missing_ok=True)
            continue
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ResumeFiles:
    """The queue of resume-file writes and deletions, drained by one task in a worker thread."""

    def __init__(self, folder: Path, state: EngineState) -> None:
        self.folder = folder
        self.state = state
        self._pending: dict[str, bytes | None] = {}
        self._wake = asyncio.Event()
        self._writing = False
        self._drained: Waiters[str] = Waiters()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run())

    def put(self, key: str, data: bytes) -> None:
        """Queue ``data`` as the resume file of ``key`` (a newer one replaces a queued one)."""
        self._pending[key] = data
        self._wake.set()

    def delete(self, key: str) -> None:
        """Queue the removal of the resume file of ``key``."""
        self._pending[key] = None
        self._wake.set()

    async def drained(self, timeout: float | None = None) -> None:
        """Wait until everything queued so far is on disk."""
        if self._pending or self._writing:
            await self._drained.wait(_DRAINED, timeout)

    async def stop(self) -> None:
        """Write what is still queued and stop the writer task."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        batch, self._pending = self._pending, {}
        if batch:
            await asyncio.to_thread(self._write, batch)
        self._drained.resolve(_DRAINED)

    def _write(self, batch: dict[str, bytes | None]) -> None:
        try:
            _write_batch(self.folder, batch)
        except OSError as exc:
            self.state.log.error("writing resume data failed: %s", exc)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            self._writing = True
            try:
                # Shielded: a stop() during the write waits for it instead of losing it.
                await asyncio.shield(asyncio.to_thread(self._write, batch))
            finally:
                self._writing = False
            if not self._pending:
                self._drained.resolve(_DRAINED)


class ResumeSaver:
    """Asks libtorrent for resume data of the torrents that need it and queues the files."""

    def __init__(self, state: EngineState, statuses: StatusCache, files: ResumeFiles) -> None:
        self.state = state
        self.statuses = statuses
        self.files = files
        self._answered: Waiters[str] = Waiters()

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for resume data."""
        alerts.on(lt.save_resume_data_alert, self._on_saved)
        alerts.on(lt.save_resume_data_failed_alert, self._on_failed)

    @staticmethod
    def worth_saving(torrent: Torrent) -> bool:
        """Return True for a torrent whose resume data can bring it back (checked metadata)."""
        settled = not (torrent.held or torrent.releasing or torrent.check)
        return settled and torrent.handle.torrent_file() is not None

    def save(self, torrent: Torrent) -> None:
        """Ask for ``torrent``'s resume data (with its info dict); the file is queued on arrival."""
        if self.worth_saving(torrent):
            self.statuses.needs_save.discard(torrent.key)
            torrent.handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)

    async def save_now(self, torrents: list[Torrent], timeout: float | None) -> None:
        """Save ``torrents`` and wait (bounded) until their files are written."""
        waiting = []
        for torrent in torrents:
            if self.worth_saving(torrent):
                waiting.append((torrent.key, self._answered.register(torrent.key)))
                self.save(torrent)
        try:
            if waiting:
                await asyncio.wait([future for _, future in waiting], timeout=timeout)
        finally:
            for key, future in waiting:
                self._answered.discard(key, future)
        await self.files.drained(timeout)

    def save_changed(self) -> int:
        """Save every torrent libtorrent reports changed since its last save; return how many."""
        asked = 0
        for key in list(self.statuses.needs_save):
            torrent = self.state.table.get(key)
            if torrent is None:
                self.statuses.needs_save.discard(key)
            elif self.worth_saving(torrent):
                self.save(torrent)
                asked += 1
        return asked

    async def save_changed_now(self, timeout: float) -> None:
        """Save (bounded) every torrent changed as of a fresh state update; wait until written."""
        try:
            await self.statuses.current(timeout=min(timeout, 5.0))
        except TimeoutError:
            self.state.log.warning("no state update before saving resume data")
        changed = [t for key in list(self.statuses.needs_save) if (t := self.state.table.get(key))]
        await self.save_now(changed, timeout)

    async def periodic(self, interval: float) -> None:
        """Save the changed torrents every ``interval`` seconds (a checkpoint timer)."""
        while True:
            await asyncio.sleep(interval)  # periodic checkpoint
            self.save_changed()

    def delete(self, key: str) -> None:
        """Queue the removal of a removed torrent's resume file."""
        self.statuses.needs_save.discard(key)
        self.files.delete(key)

    def _on_saved(self, alert: Any) -> None:
        params = alert.params
        key = str(params.info_hashes.v1)
        if self.state.table.get(key) is not None:
            self.files.put(key, bytes(lt.write_resume_data_buf(params)))
        self._answered.resolve(key)

    def _on_failed(self, alert: Any) -> None:
        if alert.handle.is_valid():
            self._answered.resolve(key_of(alert.handle))

"""Restoring torrents from resume data in the background, a batch at a time.

At start the engine finds every resume file and returns; a background task then reads and
parses a batch of files in a worker thread, hands the batch to libtorrent with
``async_add_torrent`` (no re-hash: the resume data says which pieces are on disk) and waits for
the batch's ``add_torrent_alert``s before the next batch. The loop serves everything else in
between, so a node holding 10,000 torrents answers at once and shows its restore progress.
A torrent the node asks for while it is still queued is restored first and then used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libtorrent as lt

from swarmfeed.core.policy import FRESH_SECONDS
from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.resume import RESUME_SUFFIX
from swarmfeed.engine.table import EngineState, Torrent
from swarmfeed.engine.waiters import Waiters

Loaded = tuple[str, Any]
"""(key, add_torrent_params) or (key, None) for a file that could not be read."""


@dataclass(frozen=True)
class RestoreProgress:
    """How far the restore is: ``done`` of ``total`` resume files handled."""

    running: bool
    done: int
    total: int


def _load(paths: list[Path]) -> list[Loaded]:
    """Read and parse resume files (in a worker thread)."""
    loaded: list[Loaded] = []
    for path in paths:
        key = path.name.removesuffix(RESUME_SUFFIX)
        try:
            loaded.append((key, lt.read_resume_data(path.read_bytes())))
        except (OSError, RuntimeError):
            loaded.append((key, None))
    return loaded


def _hashes(params: Any) -> Any:
    """Return the info hashes of resume data (of its info dict when it has one)."""
    return params.ti.info_hashes() if params.ti is not None else params.info_hashes


def _key(params: Any) -> str:
    """Return the engine key (v1 infohash, hex) of resume data."""
    return str(_hashes(params).v1)


def _held(params: Any) -> bool:
    """Return True for a torrent saved before its metadata was checked (older versions did)."""
    if params.ti is None:
        return True
    priorities = list(params.file_priorities)
    return bool(priorities) and all(p == 0 for p in priorities)


class Restorer:
    """Restores saved torrents in batches; reports progress; lets callers wait for one key."""

    def __init__(self, state: EngineState, folder: Path, added: Callable[[Torrent], None]) -> None:
        self.state = state
        self.folder = folder
        self.added = added
        self.settled: Waiters[str] = Waiters()
        self._queued: dict[str, Any] = {}
        self._pending: set[str] = set()
        self._cancelled: dict[str, bool] = {}
        self._batch_left = 0
        self._batch_done = asyncio.Event()
        self._done = 0
        self._total = 0
        self._task: asyncio.Task[None] | None = None

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for added torrents."""
        alerts.on(lt.add_torrent_alert, self._on_added)

    def start(self) -> None:
        """List the resume files and restore them in the background."""
        paths = sorted(self.folder.glob(f"*{RESUME_SUFFIX}"))
        self._total = len(paths)
        self._pending = {p.name.removesuffix(RESUME_SUFFIX) for p in paths}
        self._task = asyncio.create_task(self._run(paths))

    async def stop(self) -> None:
        """Stop restoring (what is not restored yet stays on disk for next time)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._pending.clear()
        self.settled.resolve_where(lambda _key: True)

    def progress(self) -> RestoreProgress:
        """Return how far the restore is."""
        running = self._task is not None and not self._task.done()
        return RestoreProgress(running, self._done, self._total)

    def pending(self) -> list[str]:
        """Return the keys still waiting in the restore queue."""
        return sorted(self._pending)

    def is_pending(self, key: str) -> bool:
        """Return True while ``key`` waits in the restore queue (and was not removed)."""
        return key in self._pending and key not in self._cancelled

    def cancel(self, key: str, delete_files: bool) -> None:
        """Drop queued ``key`` from the restore: removed (with its files) once libtorrent has it.

        The torrent is still added when its turn comes, so that libtorrent can delete its files.
        """
        if key in self._pending:
            self._cancelled[key] = delete_files

    async def wait(self, key: str, timeout: float | None = None) -> None:
        """Wait until ``key`` is restored (or failed to), if it is queued at all."""
        if self.is_pending(key):
            await self.settled.wait(key, timeout)

    async def finished(self) -> None:
        """Wait until every resume file was handled."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self, paths: list[Path]) -> None:
        size = max(1, self.state.config.restore_batch)
        for start in range(0, len(paths), size):
            loaded = await asyncio.to_thread(_load, paths[start : start + size])
            self._batch_done.clear()
            self._batch_left = 0
            for key, params in loaded:
                if params is None:
                    self.state.log.warning("could not read resume data of %s", key)
                    self._settle(key)
                    continue
                self._submit(key, params)
            if self._batch_left:
                await self._batch_done.wait()
            self.state.session.post_torrent_updates()
        if self._total:
            self.state.log.info("restored %d torrents from resume data", self._done)

    def _submit(self, key: str, params: Any) -> None:
        if _key(params) != key:
            self.state.log.warning("resume file of %s holds another torrent; skipped", key)
            self._settle(key)
            return
        # Added paused and resumed once the add is known to be kept: a torrent the node removed
        # while it was queued (an unfollow at start) never connects nor writes a byte.
        flags = params.flags & ~lt.torrent_flags.auto_managed
        flags |= lt.torrent_flags.update_subscribe | lt.torrent_flags.paused
        if _held(params):
            flags |= lt.torrent_flags.default_dont_download
        now = time.time()
        if params.added_time <= 0:
            params.added_time = int(now)
        if self.state.config.dht_fresh_only and now - params.added_time >= FRESH_SECONDS:
            flags |= lt.torrent_flags.disable_dht
        params.flags = flags
        self._queued[key] = params
        self._batch_left += 1
        self.state.session.async_add_torrent(params)

    def _on_added(self, alert: Any) -> None:
        key = _key(alert.params)
        queued = self._queued.pop(key, None)
        if queued is None:
            return  # an add of the node's own (add_torrent, add_magnet)
        cancelled = self._cancelled.pop(key, None)
        if alert.error.value() != 0:
            self.state.log.warning("could not restore %s: %s", key, alert.error.message())
        elif key in self.state.table:
            # The node added it meanwhile (maybe after removing the queued one): keep it running.
            alert.handle.resume()
        elif cancelled is not None:
            options = lt.options_t.delete_files if cancelled else 0
            self.state.session.remove_torrent(alert.handle, options)
        else:
            handle = alert.handle
            flags = queued.flags
            handle.resume()
            self.added(
                Torrent(
                    key=key,
                    handle=handle,
                    added_at=float(queued.added_time),
                    hybrid=bool(_hashes(queued).has_v2()),
                    dht=not (flags & lt.torrent_flags.disable_dht),
                    held=_held(queued),
                    restored=True,
                )
            )
        self._settle(key)
        self._batch_left -= 1
        if self._batch_left <= 0:
            self._batch_done.set()

    def _settle(self, key: str) -> None:
        self._pending.discard(key)
        self._done += 1
        self.settled.resolve(key)

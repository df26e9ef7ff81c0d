"""Streaming: fetch the pieces under a byte range first and wait until they are in the file."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.completion import Completion
from swarmfeed.engine.flushes import DiskFlushes
from swarmfeed.engine.table import EngineState, Torrent, key_of
from swarmfeed.engine.types import PieceFailed
from swarmfeed.engine.waiters import Waiters
from swarmfeed.errors import CorruptData

DEFAULT_PRIORITY = 4
DEADLINE_STEP_MS = 50
"""Piece deadlines of one range are this far apart, earliest first."""

MetadataWait = Callable[[Torrent, float | None], Awaitable[None]]


class Streaming:
    """Piece deadlines for byte ranges (playback, HTTP Range requests) and their waiters."""

    def __init__(
        self,
        state: EngineState,
        flushes: DiskFlushes,
        completion: Completion,
        wait_metadata: MetadataWait,
    ) -> None:
        self.state = state
        self.flushes = flushes
        self.completion = completion
        self.wait_metadata = wait_metadata
        self.pieces: Waiters[tuple[str, int]] = Waiters()

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for pieces passing (or failing) their hash check."""
        alerts.on(lt.piece_finished_alert, self._on_piece)
        alerts.on(lt.hash_failed_alert, self._on_hash_failed)

    def forget(self, key: str, error: BaseException) -> None:
        """Fail the piece waiters of a removed torrent."""
        self.pieces.fail_where(lambda k: k[0] == key, error)

    async def wait_range(
        self, torrent: Torrent, file_index: int, start: int, end: int, timeout: float
    ) -> None:
        """Fetch the pieces covering [start, end) of a file first and wait until they are written.

        Pieces get deadlines (earliest first) and a priority if they had none (a torrent held
        for its metadata check is waited for first).
        """
        handle = torrent.handle
        if handle.torrent_file() is None or torrent.held:
            await self.wait_metadata(torrent, timeout)
        if end <= start:
            return
        info = handle.torrent_file()
        base = info.layout().file_offset(file_index)
        piece_length = info.piece_length()
        first = (base + start) // piece_length
        last = (base + end - 1) // piece_length
        missing = [piece for piece in range(first, last + 1) if not handle.have_piece(piece)]
        for order, piece in enumerate(missing):
            if handle.piece_priority(piece) == 0:
                handle.piece_priority(piece, DEFAULT_PRIORITY)
            handle.set_piece_deadline(piece, DEADLINE_STEP_MS * order)
        corrupt = sorted(torrent.corrupt.intersection(missing))
        if corrupt:  # asked for again above; this reader is told at once
            raise CorruptData(
                f"piece {corrupt[0]} of {torrent.key} failed its hash check: a peer sent bad data"
            )
        keys = [(torrent.key, piece) for piece in missing]
        waiting = [(key, self.pieces.register(key)) for key in keys]
        # A piece may have completed between have_piece() and the registration above.
        for piece in missing:
            if handle.have_piece(piece):
                self.pieces.resolve((torrent.key, piece))
        try:
            if waiting:
                await asyncio.wait_for(asyncio.gather(*(f for _, f in waiting)), timeout)
        finally:
            for key, future in waiting:
                self.pieces.discard(key, future)
        await self._wait_written(torrent, first, last, timeout)

    async def _wait_written(self, torrent: Torrent, first: int, last: int, timeout: float) -> None:
        """Wait until pieces ``first``..``last`` (all passed) are in the file, not only cached.

        libtorrent posts piece_finished_alert (and have_piece() turns true) once a piece passes
        its hash check, which may be before its last blocks leave the disk cache; a reader of
        the file would then see zeros. A piece still in the download queue has such blocks:
        flush the torrent's cache (a fence behind every pending write) and wait for it.
        """
        if torrent.on_disk:
            return
        # Once complete, libtorrent drops its piece picker (and download queue) at once.
        complete = self.completion.is_complete(torrent)
        writing = {int(entry["piece_index"]) for entry in torrent.handle.get_download_queue()}
        if complete or any(first <= piece <= last for piece in writing):
            await self.flushes.flush(torrent, timeout)
            if complete:
                torrent.on_disk = True

    @staticmethod
    def set_sequential(torrent: Torrent, on: bool) -> None:
        """Download pieces in order (for playback near the playhead)."""
        if on:
            torrent.handle.set_flags(lt.torrent_flags.sequential_download)
        else:
            torrent.handle.unset_flags(lt.torrent_flags.sequential_download)

    def _on_piece(self, alert: Any) -> None:
        key = key_of(alert.handle)
        piece = int(alert.piece_index)
        torrent = self.state.table.get(key)
        if torrent is not None:
            torrent.corrupt.discard(piece)
        self.pieces.resolve((key, piece))

    def _on_hash_failed(self, alert: Any) -> None:
        """Fail the readers waiting for a piece whose bytes did not match its hash (BEP 3/52).

        libtorrent asks other peers for the piece again (and bans a peer that keeps sending
        bad data), but the one it came from may have been the only source: a reader waiting
        for it would wait for nothing. It learns at once and may ask again.
        """
        key = key_of(alert.handle)
        piece = int(alert.piece_index)
        torrent = self.state.table.get(key)
        if torrent is not None:
            torrent.corrupt.add(piece)
        self.state.log.warning("piece %d of %s failed its hash check", piece, key[:16])
        error = CorruptData(f"piece {piece} of {key} failed its hash check: a peer sent bad data")
        self.pieces.fail((key, piece), error)
        self.state.emit(PieceFailed(key, piece))

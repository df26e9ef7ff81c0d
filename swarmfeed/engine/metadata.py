"""The metadata gate: a magnet fetches no piece until its metadata (BEP 9) passed a check.

A magnet added with a check is held with ``default_dont_download``: when its info dict
arrives every file has priority 0. The check runs on the info dict; a refused torrent is
removed with its files, a passed one is released (files wanted, peers reconnected).

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.peers import PeerBook
from swarmfeed.engine.streaming import DEFAULT_PRIORITY
from swarmfeed.engine.table import EngineState, MetadataCheck, Torrent, key_of
from swarmfeed.engine.types import MetadataReceived, MetadataRefused, TorrentRefused
from swarmfeed.engine.waiters import Waiters
from swarmfeed.errors import InvalidInput

Drop = Callable[[Torrent, BaseException], None]


class MetadataGate:
    """Runs metadata checks, releases or refuses held torrents and wakes ``wait_metadata``."""

    def __init__(
        self, state: EngineState, peers: PeerBook, drop: Drop, released: Callable[[Torrent], None]
    ) -> None:
        self.state = state
        self.peers = peers
        self.drop = drop
        self.released = released
        self.waiters: Waiters[str] = Waiters()

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for arriving metadata."""
        alerts.on(lt.metadata_received_alert, self._on_metadata)
        alerts.on(lt.file_prio_alert, self._on_priorities)

    @staticmethod
    def has_metadata(torrent: Torrent) -> bool:
        """Return True once libtorrent holds the torrent's info dict."""
        return torrent.handle.torrent_file() is not None

    def is_ready(self, torrent: Torrent) -> bool:
        """Return True when the torrent has metadata that passed its check (if it had one)."""
        return self.has_metadata(torrent) and torrent.check is None and not torrent.held

    async def wait_metadata(self, torrent: Torrent, timeout: float | None) -> None:
        """Wait until ``torrent`` has metadata that passed its check."""
        if not self.is_ready(torrent):
            await self.waiters.wait(torrent.key, timeout)

    def require_check(self, torrent: Torrent, check: MetadataCheck) -> None:
        """Give a torrent whose metadata was never checked its check (run at once if it can).

        A torrent whose metadata already passed a check (or that was released) keeps it.
        """
        if not torrent.held and self.has_metadata(torrent):
            return
        torrent.check = check
        if self.has_metadata(torrent):
            self._admit(torrent)

    def forget(self, key: str, error: BaseException) -> None:
        """Fail the waiters of a removed torrent."""
        self.waiters.fail(key, error)

    def _on_metadata(self, alert: Any) -> None:
        torrent = self.state.table.get(key_of(alert.handle))
        if torrent is not None:
            self.peers.remember(torrent)
            self._admit(torrent)

    def _on_priorities(self, alert: Any) -> None:
        torrent = self.state.table.get(key_of(alert.handle))
        if torrent is not None and torrent.releasing:
            # The files are wanted now; one whose bytes were all on disk is complete already
            # (and its torrent_finished_alert came while the release was pending).
            torrent.releasing = False
            self.released(torrent)

    def _admit(self, torrent: Torrent) -> None:
        """Run the pending check of a torrent with metadata; release or refuse it."""
        check, torrent.check = torrent.check, None
        if check is not None:
            try:
                check(bytes(torrent.handle.torrent_file().info_section()))
            except InvalidInput as exc:
                self._refuse(torrent, str(exc))
                return
        elif torrent.held and torrent.restored:
            # Restored while held: its check was lost with the last session. It stays held
            # until the node gives it one again (add_magnet with check_metadata).
            return
        if torrent.held:
            self._release(torrent)
        self.waiters.resolve(torrent.key)
        self.state.emit(MetadataReceived(torrent.key))

    def _release(self, torrent: Torrent) -> None:
        """Let a checked torrent download its files and reconnect the peers it lost."""
        handle = torrent.handle
        torrent.held = False
        torrent.releasing = True
        torrent.on_disk = False
        handle.prioritize_files([DEFAULT_PRIORITY] * handle.torrent_file().num_files())
        # While nothing was wanted the torrent counted as finished and dropped its seeds.
        if torrent.dht:
            handle.force_dht_announce()

    def _refuse(self, torrent: Torrent, reason: str) -> None:
        self.state.log.warning("refused torrent %s: %s", torrent.key, reason)
        self.drop(torrent, TorrentRefused(f"torrent {torrent.key} refused: {reason}"))
        self.state.emit(MetadataRefused(torrent.key, reason))

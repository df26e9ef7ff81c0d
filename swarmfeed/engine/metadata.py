"""The metadata gate: a magnet fetches no piece until its metadata (BEP 9) passed a check.

A magnet added with a check is held with ``default_dont_download``: when its info dict
arrives every file has priority 0. The check runs on the info dict; a refused torrent is
removed with its files, a passed one is released (files wanted, peers reconnected).

Held and released: while nothing is wanted libtorrent counts the torrent as finished, and with
``close_redundant_connections`` it drops its seeds at that moment (and they drop it), before
any check can run. Measured on loopback (libtorrent 2.1.1, one seed, 2 MiB): handing the seed
back with ``connect_peer`` alone waited libtorrent's ``min_reconnect_time`` (60 s) before the
download started; leaving upload mode resets that timer for every peer the torrent knows
(libtorrent does this after upload mode), and the seed was reconnected at the next
connection round, 1.0 s after the check. Sources handed to the torrent are connected again as
well, for peers libtorrent has forgotten.

While held, the torrent also tells new peers it is upload-only (BEP 21) and downloaders with
nothing to get from it drop it. Keeping ``close_redundant_connections`` off while a fresh post's
magnet was held (so nothing is dropped or announced) was measured in the viral benchmark and
made no difference (30 followers, alternating runs: 1.16-1.22 copies from the author and the
last follower at 1.45-1.56x the bound with it, 1.18-1.23 and 1.38-1.54x without), so the
reconnect is the whole mechanism.
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
        handle.set_flags(lt.torrent_flags.upload_mode)
        handle.unset_flags(lt.torrent_flags.upload_mode)
        for endpoint in torrent.sources:
            handle.connect_peer(endpoint)
        if torrent.dht:
            handle.force_dht_announce()

    def _refuse(self, torrent: Torrent, reason: str) -> None:
        self.state.log.warning("refused torrent %s: %s", torrent.key, reason)
        self.drop(torrent, TorrentRefused(f"torrent {torrent.key} refused: {reason}"))
        self.state.emit(MetadataRefused(torrent.key, reason))

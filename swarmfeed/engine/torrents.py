"""Adding and removing torrents, and the errors libtorrent reports about them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.metadata import MetadataGate
from swarmfeed.engine.peers import PeerBook
from swarmfeed.engine.restore import Restorer
from swarmfeed.engine.resume import ResumeSaver
from swarmfeed.engine.seeding import SeedingAdapter
from swarmfeed.engine.status import StatusCache
from swarmfeed.engine.table import (
    MAX_KNOWN_PEERS,
    Endpoint,
    EngineState,
    MetadataCheck,
    Torrent,
    key_of,
)
from swarmfeed.engine.types import TorrentFailed, TorrentRefused, TorrentRemoved
from swarmfeed.errors import InvalidInput

Forget = Callable[[str, BaseException], None]


def _flags(params: Any, *, dht: bool) -> Any:
    """Return ``params``' flags for a torrent the queue never pauses, DHT on or off."""
    flags = params.flags & ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    flags |= lt.torrent_flags.update_subscribe
    if not dht:
        flags |= lt.torrent_flags.disable_dht
    return flags


class Torrents:
    """Puts torrents into the session (new, or idempotently again) and takes them out."""

    def __init__(
        self,
        state: EngineState,
        statuses: StatusCache,
        gate: MetadataGate,
        peers: PeerBook,
        seeding: SeedingAdapter,
        saver: ResumeSaver,
        restorer: Restorer,
    ) -> None:
        self.state = state
        self.statuses = statuses
        self.gate = gate
        self.peers = peers
        self.seeding = seeding
        self.saver = saver
        self.restorer = restorer
        self.forgetters: list[Forget] = []
        """Called with (key, error) when a torrent leaves: fail its waiters, drop its state."""

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for removals and errors."""
        alerts.on(lt.torrent_removed_alert, self._on_removed)
        for error_alert in (lt.torrent_error_alert, lt.file_error_alert, lt.metadata_failed_alert):
            alerts.on(error_alert, self._on_error)
        alerts.on(lt.listen_failed_alert, self._on_listen_failed)

    async def add_torrent(
        self,
        torrent: bytes,
        save_path: Path,
        *,
        seed_mode: bool,
        authored: bool,
        dht: bool,
        fresh: bool,
    ) -> str:
        """Add a complete .torrent (see Engine.add_torrent); return its key."""
        session = self.state.require_session()
        try:
            info = lt.torrent_info(torrent)
        except RuntimeError as exc:
            raise InvalidInput(f"not a valid torrent: {exc}") from exc
        key = str(info.info_hashes().v1)
        await self.restorer.wait(key)
        if self.state.table.get(key) is not None:
            return key
        params = lt.add_torrent_params()
        params.ti = info
        params.save_path = str(save_path)
        params.flags = _flags(params, dht=dht)
        if seed_mode:
            params.flags |= lt.torrent_flags.seed_mode
        record = self._add(session, params, save_path, info.info_hashes().has_v2(), dht)
        record.authored = authored
        self._track(record, fresh)
        # Saved at once: our own content must come back after a crash right after a post.
        self.saver.save(record)
        return key

    async def add_magnet(
        self,
        infohash: bytes,
        infohash_v2: bytes | None,
        save_path: Path,
        *,
        name: str | None,
        check_metadata: MetadataCheck | None,
        peers: Sequence[Endpoint],
        dht: bool,
        fresh: bool,
    ) -> str:
        """Add a torrent by infohash (see Engine.add_magnet); return its key."""
        session = self.state.require_session()
        key = infohash.hex()
        await self.restorer.wait(key)
        existing = self.state.table.get(key)
        if existing is not None:
            self.peers.connect(existing, peers)
            if check_metadata is not None:
                self.gate.require_check(existing, check_metadata)
            return key
        params = lt.add_torrent_params()
        hashes = lt.info_hash_t(lt.sha1_hash(infohash))
        if infohash_v2 is not None:
            hashes = lt.info_hash_t(lt.sha1_hash(infohash), lt.sha256_hash(infohash_v2))
        params.info_hashes = hashes
        params.save_path = str(save_path)
        if name:
            params.name = name
        params.flags = _flags(params, dht=dht)
        if check_metadata is not None:
            params.flags |= lt.torrent_flags.default_dont_download
        params.peers = list(peers)
        record = self._add(session, params, save_path, infohash_v2 is not None, dht)
        record.check = check_metadata
        record.held = check_metadata is not None
        hinted = list(peers)[:MAX_KNOWN_PEERS]
        record.sources.update((str(host), int(port)) for host, port in hinted)
        self._track(record, fresh)
        return key

    def remove(self, key: str, delete_files: bool) -> None:
        """Remove a torrent (and optionally its files); unknown torrents are ignored."""
        torrent = self.state.table.get(key)
        if torrent is not None:
            self.drop(torrent, TorrentRefused(f"torrent {key} was removed"), delete_files)
        elif self.restorer.is_pending(key):
            self.restorer.cancel(key, delete_files)
            self.saver.delete(key)

    def drop(self, torrent: Torrent, error: BaseException, delete_files: bool = True) -> None:
        """Take ``torrent`` out of the engine and the session; its waiters get ``error``."""
        self.state.table.pop(torrent.key)
        self.statuses.forget(torrent.key)
        self.saver.delete(torrent.key)
        for forget in self.forgetters:
            forget(torrent.key, error)
        session = self.state.session
        if session is not None and torrent.handle.is_valid():
            session.remove_torrent(torrent.handle, lt.options_t.delete_files if delete_files else 0)

    def _add(self, session: Any, params: Any, save_path: Path, hybrid: bool, dht: bool) -> Torrent:
        now = time.time()
        params.added_time = int(now)
        save_path.mkdir(parents=True, exist_ok=True)
        handle = session.add_torrent(params)
        return Torrent(key=key_of(handle), handle=handle, added_at=now, hybrid=hybrid, dht=dht)

    def _track(self, torrent: Torrent, fresh: bool) -> None:
        self.state.table.put(torrent, fresh=fresh, now=torrent.added_at)
        self.statuses.refresh(torrent)
        if torrent.dht:
            torrent.handle.force_dht_announce()
        self.seeding.tune_added(torrent)

    def _on_removed(self, alert: Any) -> None:
        self.state.emit(TorrentRemoved(str(alert.info_hashes.v1)))

    def _on_error(self, alert: Any) -> None:
        handle = alert.handle
        key = key_of(handle) if handle.is_valid() else "?"
        message = str(alert.message())
        self.state.log.warning("torrent %s: %s", key, message)
        self.state.emit(TorrentFailed(key, message))

    def _on_listen_failed(self, alert: Any) -> None:
        self.state.log.error("listening failed: %s", alert.message())

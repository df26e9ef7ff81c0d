"""The libtorrent session, driven from asyncio by alerts (no sleep-polling).

libtorrent writes a byte to a socket when alerts are pending (``set_alert_fd``); the event loop
reads it, pops the alerts, copies their fields out at once (an alert dies at the next
``pop_alerts``) and dispatches each by type to a small handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import libtorrent as lt

from swarmfeed.core import bencoding
from swarmfeed.core.policy import (
    FRESH_SECONDS,
    NO_LIMIT,
    PLAIN_TORRENT,
    SeedPolicy,
    SessionTuning,
    TorrentFacts,
    TorrentTuning,
    is_fresh_media,
    is_fresh_own_media,
    least_held,
    session_tuning,
    torrent_tuning,
)
from swarmfeed.engine.serving import SERVE_INTERVAL, ServingAdapter
from swarmfeed.engine.types import (
    EngineConfig,
    EngineEvent,
    FileEntry,
    MetadataReceived,
    MetadataRefused,
    PieceFailed,
    SessionStatus,
    TorrentFailed,
    TorrentFinished,
    TorrentRemoved,
    TorrentStatus,
)
from swarmfeed.errors import CorruptData, InvalidInput, NotFound, SwarmfeedError
from swarmfeed.store.files import atomic_write

# Listen sockets (TCP and uTP per interface), the DHT, LSD, UPnP and NAT-PMP sockets, the
# alert socketpair and libtorrent's own wake-up pipes, generously.
ENGINE_SOCKETS = 32
PUBLIC_ROUTERS = (
    "router.bittorrent.com:6881,dht.transmissionbt.com:6881,"
    "router.utorrent.com:6881,dht.libtorrent.org:25401"
)
DEFAULT_PRIORITY = 4
RESUME_SUFFIX = ".resume"
MAX_KNOWN_PEERS = 16
REJOIN_FIRST = 2.0
"""Seconds before a node with a near-empty DHT routing table contacts its bootstrap nodes again."""
REJOIN_MAX = 120.0
"""Longest pause between such attempts (the pause doubles after each one)."""


def _session_tuning_settings(tuning: SessionTuning) -> dict[str, int]:
    """Return the libtorrent settings of ``tuning``."""
    return {
        "unchoke_slots_limit": tuning.unchoke_slots,
        "unchoke_interval": tuning.unchoke_interval,
        "optimistic_unchoke_interval": tuning.optimistic_unchoke_interval,
        "seed_choking_algorithm": int(
            getattr(lt.seed_choking_algorithm_t, tuning.seed_choking.value)
        ),
        "max_allowed_in_request_queue": tuning.max_queued_requests,
        "whole_pieces_threshold": tuning.whole_pieces_threshold,
        "tick_interval": tuning.tick_interval_ms,
    }


def _split_endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def loop_time() -> float:
    """Return the running loop's monotonic clock."""
    return asyncio.get_running_loop().time()


class TorrentRefused(InvalidInput):
    """A torrent was refused (its metadata failed a check) or removed while awaited."""


MetadataCheck = Callable[[bytes], None]


class Engine:
    """Owns one libtorrent session; the rest of swarmfeed sees only swarmfeed types."""

    def __init__(
        self, config: EngineConfig, state_dir: Path, *, logger: logging.Logger | None = None
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self.resume_dir = state_dir / "resume"
        self.log = logger or logging.getLogger("swarmfeed.engine")
        self._session: Any = None
        self._handles: dict[str, Any] = {}
        self._added: dict[str, float] = {}
        self._checks: dict[str, MetadataCheck] = {}
        self._finished: dict[str, list[asyncio.Future[None]]] = {}
        self._metadata: dict[str, list[asyncio.Future[None]]] = {}
        self._pieces: dict[tuple[str, int], list[asyncio.Future[None]]] = {}
        # Pieces that failed their hash check and have not passed one since, per torrent.
        self._corrupt: dict[str, set[int]] = {}
        # Disk-cache flushes (flush_cache -> cache_flushed_alert, answered in request order):
        # waiters by (torrent, ticket), tickets asked and answered, and the torrents whose
        # completion is being flushed or known to be in their files.
        self._flushes: dict[tuple[str, int], list[asyncio.Future[None]]] = {}
        self._flush_asked: dict[str, int] = {}
        self._flush_done: dict[str, int] = {}
        self._finishing: dict[str, int] = {}
        self._on_disk: set[str] = set()
        self._resume: dict[str, asyncio.Future[None]] = {}
        self._subscribers: list[Callable[[EngineEvent], None]] = []
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stats: dict[str, int] = {}
        self._rates = (0, 0)
        self._dht_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._rejoin_at = 0.0
        self._rejoin_pause = REJOIN_FIRST
        self._authored: set[str] = set()
        self._tuning: dict[str, TorrentTuning] = {}
        self._session_tuning = session_tuning(config.seed_policy)
        self._stepping_back_soon = False
        self._completed_at: dict[str, float] = {}
        self._known_peers: dict[str, set[tuple[str, int]]] = {}
        self._external_ip: str | None = None
        self.serving = ServingAdapter(self.log)
        self._handlers: dict[type, Callable[[Any], None]] = {
            lt.metadata_received_alert: self._on_metadata,
            lt.torrent_finished_alert: self._on_finished,
            lt.piece_finished_alert: self._on_piece,
            lt.hash_failed_alert: self._on_hash_failed,
            lt.cache_flushed_alert: self._on_cache_flushed,
            lt.save_resume_data_alert: self._on_resume_saved,
            lt.save_resume_data_failed_alert: self._on_resume_failed,
            lt.torrent_removed_alert: self._on_removed,
            lt.torrent_error_alert: self._on_error,
            lt.file_error_alert: self._on_error,
            lt.metadata_failed_alert: self._on_error,
            lt.session_stats_alert: self._on_stats,
            lt.listen_failed_alert: self._on_listen_failed,
            lt.external_ip_alert: self._on_external_ip,
        }

    # lifecycle -------------------------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        local = self.config.local_only
        categories = lt.alert_category
        return {
            "listen_interfaces": self.config.listen_interface,
            "enable_dht": True,
            "dht_bootstrap_nodes": PUBLIC_ROUTERS if self.config.public_dht else "",
            "enable_lsd": not local,
            "enable_upnp": not local,
            "enable_natpmp": not local,
            "dht_restrict_routing_ips": not local,
            "dht_restrict_search_ips": not local,
            "allow_multiple_connections_per_ip": local,
            # Measured on loopback: simultaneous uTP connects between two peers end in a
            # "duplicate peer-id" drop of one side and "invalid message" on the other, losing
            # both. Private/local swarms use TCP only; the public network keeps uTP.
            "enable_outgoing_utp": not local,
            "enable_incoming_utp": not local,
            # A magnet held back for its metadata check counts as finished (nothing wanted) and
            # would drop its seeds as "upload to upload"; keep them so the download can start
            # on the same connection once the check passes.
            "close_redundant_connections": False,
            # Private/local swarms put many nodes and DHT clients on few addresses; libtorrent
            # bans an IP above 5 DHT packets/s (and then for 300 s), which a busy test swarm
            # reaches. The public DHT keeps libtorrent's defaults.
            "dht_block_ratelimit": 1000 if local else 5,
            "dht_upload_rate_limit": 1_000_000 if local else 8000,
            "upload_rate_limit": self.config.upload_rate_limit,
            "download_rate_limit": self.config.download_rate_limit,
            # Choking (BEP 3) and request queues as the seeding policy asks (core/policy.py,
            # docs/performance.md); re-decided every policy round.
            **_session_tuning_settings(self._session_tuning),
            # Every followed torrent must keep seeding (NOTES.md: the default queue would stop
            # most of them). Torrents are added without auto_managed, so the queue never pauses
            # them; the active_* limits only govern auto-managed torrents and stay at defaults.
            # Outgoing connections from the listen address: on loopback the kernel would
            # otherwise pick the destination's own address as source and peers see themselves.
            "outgoing_interfaces": self._listen_host(),
            "user_agent": "swarmfeed/0.1",
            "peer_fingerprint": lt.generate_fingerprint("SF", 0, 1, 0, 0),
            "alert_mask": categories.status
            | categories.error
            | categories.storage
            | categories.piece_progress
            | categories.stats,
            "alert_queue_size": 10000,
        }

    def _listen_host(self) -> str:
        host = self.config.listen_interface.rpartition(":")[0].strip("[]")
        return "" if host in ("", "0.0.0.0", "::") else host  # noqa: S104

    async def start(self) -> None:
        """Create the session, hook its alerts into the loop and restore saved torrents."""
        loop = asyncio.get_running_loop()
        self.resume_dir.mkdir(parents=True, exist_ok=True)
        self._session = lt.session(cast(Any, self._settings()))
        self._rejoin_at = loop.time() + REJOIN_FIRST
        if self.config.rate_limit_local_peers:
            # Loopback/LAN peers fall into the local class that ignores rate limits (NOTES.md).
            peer_filter = lt.ip_filter()
            peer_filter.add_rule(
                "0.0.0.0",  # noqa: S104 - an address range, not a bind
                "255.255.255.255",
                1 << self._session.global_peer_class_id,
            )
            self._session.set_peer_class_filter(peer_filter)
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._session.set_alert_fd(self._writer.fileno())
        loop.add_reader(self._reader.fileno(), self._drain)
        for host, port in self.config.bootstrap_nodes:
            self._session.add_dht_node((host, port))
        self._restore()
        self._tasks.append(asyncio.create_task(self._periodic_resume()))
        self._tasks.append(asyncio.create_task(self._periodic_stats()))
        self._tasks.append(asyncio.create_task(self._announce_fresh()))
        self._tasks.append(asyncio.create_task(self._apply_policy_loop()))
        if self.config.serve_scarce_first:
            self._tasks.append(asyncio.create_task(self._serve_rounds()))
        self._drain()

    def _restore(self) -> None:
        for path in sorted(self.resume_dir.glob(f"*{RESUME_SUFFIX}")):
            try:
                params = lt.read_resume_data(path.read_bytes())
                params.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
                handle = self._session.add_torrent(params)
            except RuntimeError as exc:
                self.log.warning("could not restore %s: %s", path.name, exc)
                continue
            self._track(self._key(handle), handle)
        if self._handles:
            self.log.info("restored %d torrents from resume data", len(self._handles))

    async def stop(self) -> None:
        """Save resume data for every torrent, then close the session."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._session is None:
            return
        await self.save_all_resume_data(timeout=20.0)
        loop = asyncio.get_running_loop()
        if self._reader is not None:
            loop.remove_reader(self._reader.fileno())
        self._session.pause()
        self._session = None
        for sock in (self._reader, self._writer):
            if sock is not None:
                sock.close()
        tables = (self._finished, self._metadata, self._pieces, self._flushes)
        waiting = [f for table in tables for w in table.values() for f in w]
        for future in [*waiting, *(f for _, f in self._dht_waiters)]:
            if not future.done():
                future.set_exception(SwarmfeedError("the engine stopped"))

    async def save_all_resume_data(self, timeout: float = 20.0) -> None:
        """Ask every torrent for resume data and wait (bounded) until it is written."""
        loop = asyncio.get_running_loop()
        futures = []
        for key, handle in list(self._handles.items()):
            if not handle.is_valid():
                continue
            future = self._resume.get(key)
            if future is None or future.done():
                future = loop.create_future()
                self._resume[key] = future
            handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)
            futures.append(future)
        if futures:
            await asyncio.wait(futures, timeout=timeout)

    async def _periodic_resume(self) -> None:
        while True:
            await asyncio.sleep(self.config.resume_save_interval)  # periodic checkpoint
            for handle in list(self._handles.values()):
                if handle.is_valid() and handle.need_save_resume_data():
                    handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)

    async def _announce_fresh(self) -> None:
        """Re-announce fresh torrents that have no peers yet (BEP 5 get_peers + announce).

        libtorrent announces a torrent once when added and then every 15 minutes; an announce
        made while the routing table is still empty is lost, and a magnet whose first lookup
        found nobody would wait that long. Fresh torrents without peers are announced again.
        """
        interval = 2.0 if self.config.local_only else 30.0
        while True:
            await asyncio.sleep(interval)  # protocol timer: re-announce cadence
            now = loop_time()
            for key, handle in list(self._handles.items()):
                if not handle.is_valid() or now - self._added.get(key, 0.0) > FRESH_SECONDS:
                    continue
                status = handle.status()
                if not status.has_metadata or status.num_peers == 0:
                    handle.force_dht_announce()

    async def _periodic_stats(self) -> None:
        while True:
            if self._session is not None:
                self._session.post_session_stats()
            await asyncio.sleep(self.config.stats_interval)  # stats are posted on a timer

    async def _apply_policy_loop(self) -> None:
        while True:
            # Policy re-evaluation cadence: quicker while our fresh post is being fetched and we
            # have not stepped back yet, when a second's delay costs a second of our upload.
            interval = self.config.policy_interval
            await asyncio.sleep(interval / 4 if self._stepping_back_soon else interval)
            self.apply_policy()

    async def _serve_rounds(self) -> None:
        """Steer upload to the swarms with the fewest other seeds (core/serving.py)."""
        while True:
            await asyncio.sleep(SERVE_INTERVAL)  # policy re-evaluation cadence
            if self._session is None:
                continue
            others = [(k, h) for k, h in list(self._handles.items()) if k not in self._authored]
            try:
                self.serving.round(others, self.config.upload_rate_limit)
            except (RuntimeError, ValueError):  # a handle that went away mid-round
                self.log.exception("serving round failed; the next one starts afresh")

    def apply_policy(self) -> None:
        """Re-decide the session's and every torrent's seeding parameters (core/policy)."""
        if self._session is None:
            return
        now = loop_time()
        fresh_swarm = serving_fresh_post = stepping_back_soon = False
        for key, handle in list(self._handles.items()):
            if handle.is_valid():
                facts = self._tune(key, handle, now)
                fresh_swarm = fresh_swarm or is_fresh_media(facts)
                if is_fresh_own_media(facts):
                    serving_fresh_post = True
                    held_back = self._tuning.get(key, PLAIN_TORRENT).upload_limit != NO_LIMIT
                    adaptive = self.config.seed_policy is SeedPolicy.ADAPTIVE
                    stepping_back_soon = stepping_back_soon or (adaptive and not held_back)
        self._stepping_back_soon = stepping_back_soon
        tuning = session_tuning(
            self.config.seed_policy,
            fresh_swarm=fresh_swarm,
            serving_fresh_post=serving_fresh_post,
        )
        if tuning != self._session_tuning:
            self._session.apply_settings(_session_tuning_settings(tuning))
            self._session_tuning = tuning
            self.log.debug("session tuned %s", tuning)

    def _tune_added(self, key: str, handle: Any) -> None:
        """Tune a torrent just added; a fresh post's media re-tunes the session as well.

        Only then is every torrent looked at again: adding a feed page stays one status call.
        """
        if is_fresh_media(self._tune(key, handle, loop_time())):
            self.apply_policy()

    def _tune(self, key: str, handle: Any, now: float) -> TorrentFacts:
        status = handle.status()
        facts = TorrentFacts(
            authored=key in self._authored,
            hybrid=bool(handle.info_hashes().has_v2()),
            age=now - self._added.get(key, now),
            # Our own torrents are made from complete local files (added in seed mode, so
            # libtorrent may not report them seeding yet when the policy first looks).
            seeding=bool(status.is_seeding) or key in self._authored,
            peers=int(status.num_peers),
            least_held=-1,
            session_upload_limit=self.config.upload_rate_limit,
        )
        if self.config.seed_policy is SeedPolicy.ADAPTIVE and is_fresh_own_media(facts):
            # libtorrent reports no availability for a seed: count the peers' bitfields.
            bitfields = [list(peer.pieces) for peer in handle.get_peer_info()]
            pieces = handle.torrent_file().num_pieces() if handle.torrent_file() else 0
            facts = replace(facts, least_held=least_held(bitfields, pieces))
        tuning = torrent_tuning(self.config.seed_policy, facts)
        if self._tuning.get(key, PLAIN_TORRENT) == tuning:
            return facts
        # BEP 16 super seeding: the seed advertises pieces one at a time per peer.
        if tuning.super_seeding:
            handle.set_flags(lt.torrent_flags.super_seeding)
        else:
            handle.unset_flags(lt.torrent_flags.super_seeding)
        handle.set_max_uploads(tuning.max_uploads)
        handle.set_upload_limit(tuning.upload_limit)
        self._tuning[key] = tuning
        self.log.debug("torrent %s tuned %s (%s)", key[:16], tuning, facts)
        return facts

    # alert dispatch --------------------------------------------------------------------------

    def _drain(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(BlockingIOError):
                while self._reader.recv(4096):
                    pass
        if self._session is None:
            return
        for alert in self._session.pop_alerts():
            handler = self._handlers.get(type(alert))
            if handler is None:
                continue
            try:
                handler(alert)
            except Exception:
                self.log.exception("handling %s failed", type(alert).__name__)

    def _emit(self, event: EngineEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                self.log.exception("engine event subscriber failed on %r", event)

    @staticmethod
    def _key(handle: Any) -> str:
        return str(handle.info_hashes().v1)

    def _on_metadata(self, alert: Any) -> None:
        handle = alert.handle
        key = self._key(handle)
        check = self._checks.pop(key, None)
        if check is not None and not self._run_check(key, handle, check):
            return
        self._release(handle)
        self._remember_peers(key, handle)
        self._resolve(self._metadata, key)
        self._emit(MetadataReceived(key))

    def _run_check(self, key: str, handle: Any, check: MetadataCheck) -> bool:
        info = bytes(handle.torrent_file().info_section())
        try:
            check(info)
        except InvalidInput as exc:
            reason = str(exc)
            self.log.warning("refused torrent %s: %s", key, reason)
            self._drop(key, handle)
            self._fail(key, TorrentRefused(f"torrent {key} refused: {reason}"))
            self._emit(MetadataRefused(key, reason))
            return False
        return True

    def _on_finished(self, alert: Any) -> None:
        handle = alert.handle
        key = self._key(handle)
        if not self._complete(handle):
            # With default_dont_download a torrent "finishes" at once with nothing wanted;
            # that alert may still be queued after the check released its files.
            return
        # libtorrent reports a torrent finished once every piece passed its hash check, maybe
        # before the disk cache wrote the last blocks: report it when they are in the files.
        self._finishing[key] = self._request_flush(key, handle)

    def _finish(self, key: str, handle: Any) -> None:
        if key not in self._completed_at and handle.status().total_payload_download > 0:
            self._completed_at[key] = time.time()
        self._on_disk.add(key)
        self._remember_peers(key, handle)
        self._resolve(self._finished, key)
        handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)
        self._emit(TorrentFinished(key))

    def _remember_peers(self, key: str, handle: Any) -> None:
        """Keep the listen addresses of the peers we connected to (usable as hints later)."""
        known = self._known_peers.setdefault(key, set())
        for peer in handle.get_peer_info():
            # Only connections we opened name the peer's listen port; incoming ones show an
            # ephemeral source port.
            if peer.flags & lt.peer_info.local_connection and len(known) < MAX_KNOWN_PEERS:
                known.add((str(peer.ip[0]), int(peer.ip[1])))

    def peer_hints(self, infohashes: Iterable[str]) -> list[tuple[str, int]]:
        """Return the listen addresses of peers we connected to for any of ``infohashes``."""
        found: list[tuple[str, int]] = []
        for key in infohashes:
            handle = self._handles.get(key)
            if handle is not None and handle.is_valid():
                self._remember_peers(key, handle)
            for endpoint in self._known_peers.get(key, ()):
                if endpoint not in found:
                    found.append(endpoint)
        return found[:MAX_KNOWN_PEERS]

    def _on_piece(self, alert: Any) -> None:
        key = self._key(alert.handle)
        piece = int(alert.piece_index)
        self._corrupt.get(key, set()).discard(piece)
        waiters = self._pieces.pop((key, piece), [])
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _on_hash_failed(self, alert: Any) -> None:
        """Fail the readers waiting for a piece whose bytes did not match its hash (BEP 3/52).

        libtorrent asks other peers for the piece again (and bans a peer that keeps sending
        bad data), but the one it came from may have been the only source: a reader waiting
        for it would wait for nothing. It learns at once and may ask again.
        """
        key = self._key(alert.handle)
        piece = int(alert.piece_index)
        self._corrupt.setdefault(key, set()).add(piece)
        self.log.warning("piece %d of %s failed its hash check", piece, key[:16])
        error = CorruptData(f"piece {piece} of {key} failed its hash check: a peer sent bad data")
        for future in self._pieces.pop((key, piece), []):
            if not future.done():
                future.set_exception(error)
        self._emit(PieceFailed(key, piece))

    def _request_flush(self, key: str, handle: Any) -> int:
        """Ask libtorrent to write the torrent's disk cache out; return the request's ticket."""
        ticket = self._flush_asked.get(key, 0) + 1
        self._flush_asked[key] = ticket
        handle.flush_cache()
        return ticket

    async def _flushed(self, key: str, handle: Any, timeout: float | None) -> None:
        """Wait until everything written to the torrent so far is in its files."""
        ticket = self._request_flush(key, handle)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushes.setdefault((key, ticket), []).append(future)
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._flushes.pop((key, ticket), None)

    def _on_cache_flushed(self, alert: Any) -> None:
        handle = alert.handle
        if not handle.is_valid():
            return
        key = self._key(handle)
        done = self._flush_done.get(key, 0) + 1
        self._flush_done[key] = done
        for ticket in [t for k, t in self._flushes if k == key and t <= done]:
            for future in self._flushes.pop((key, ticket)):
                if not future.done():
                    future.set_result(None)
        finishing = self._finishing.get(key)
        if finishing is not None and done >= finishing:
            del self._finishing[key]
            self._finish(key, handle)

    def _on_resume_saved(self, alert: Any) -> None:
        key = self._key(alert.handle)
        data = bytes(lt.write_resume_data_buf(alert.params))
        if key in self._handles:
            atomic_write(self.resume_dir / f"{key}{RESUME_SUFFIX}", data)
        future = self._resume.pop(key, None)
        if future is not None and not future.done():
            future.set_result(None)

    def _on_resume_failed(self, alert: Any) -> None:
        key = self._key(alert.handle)
        future = self._resume.pop(key, None)
        if future is not None and not future.done():
            future.set_result(None)

    def _on_removed(self, alert: Any) -> None:
        key = str(alert.info_hashes.v1)
        self._emit(TorrentRemoved(key))

    def _on_error(self, alert: Any) -> None:
        handle = alert.handle
        key = self._key(handle) if handle.is_valid() else "?"
        message = str(alert.message())
        self.log.warning("torrent %s: %s", key, message)
        self._emit(TorrentFailed(key, message))

    def _on_listen_failed(self, alert: Any) -> None:
        self.log.error("listening failed: %s", alert.message())

    def _on_external_ip(self, alert: Any) -> None:
        self._external_ip = str(alert.external_address)

    @property
    def running(self) -> bool:
        """Return True between start() and stop()."""
        return self._session is not None

    def counter(self, name: str) -> int:
        """Return libtorrent's session counter ``name`` (e.g. ``dht.dht_nodes``), 0 before any."""
        return int(self._stats.get(name, 0))

    def _on_stats(self, alert: Any) -> None:
        values = dict(alert.values)
        previous = self._stats
        interval = max(self.config.stats_interval, 0.001)
        if previous:
            up = values.get("net.sent_payload_bytes", 0) - previous.get("net.sent_payload_bytes", 0)
            down = values.get("net.recv_payload_bytes", 0) - previous.get(
                "net.recv_payload_bytes", 0
            )
            self._rates = (int(up / interval), int(down / interval))
        self._stats = values
        nodes = int(values.get("dht.dht_nodes", 0))
        for wanted, future in list(self._dht_waiters):
            if nodes >= wanted and not future.done():
                future.set_result(None)
        self._keep_dht_joined(nodes)

    def _keep_dht_joined(self, nodes: int) -> None:
        """Contact the bootstrap nodes again while the DHT routing table stays near empty.

        libtorrent pings the nodes given to ``add_dht_node`` once; a node started before its
        bootstrap nodes were listening (or cut off for a while) keeps an empty routing table,
        and every BEP 5 lookup of a new torrent then finds nobody. Retried with a doubling pause.
        """
        low_water = max(1, min(3, len(self.config.bootstrap_nodes)))
        now = loop_time()
        if nodes >= low_water:
            self._rejoin_pause = REJOIN_FIRST
            self._rejoin_at = now + REJOIN_FIRST
            return
        if now < self._rejoin_at or self._session is None:
            return
        endpoints = list(self.config.bootstrap_nodes)
        if self.config.public_dht:
            endpoints += [_split_endpoint(router) for router in PUBLIC_ROUTERS.split(",")]
        if not endpoints:
            return  # a lone node: nobody to ask
        self.log.info(
            "DHT routing table holds %d nodes; contacting %d bootstrap nodes again",
            nodes,
            len(endpoints),
        )
        for endpoint in endpoints:
            self._session.add_dht_node(endpoint)
        self._rejoin_at = now + self._rejoin_pause
        self._rejoin_pause = min(self._rejoin_pause * 2, REJOIN_MAX)

    async def wait_dht_nodes(self, count: int, timeout: float | None = None) -> None:
        """Wait until the DHT routing table holds at least ``count`` nodes."""
        if int(self._stats.get("dht.dht_nodes", 0)) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (count, future)
        self._dht_waiters.append(entry)
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._dht_waiters.remove(entry)

    # futures ---------------------------------------------------------------------------------

    @staticmethod
    def _resolve(table: dict[str, list[asyncio.Future[None]]], key: str) -> None:
        for future in table.pop(key, []):
            if not future.done():
                future.set_result(None)

    def _fail(self, key: str, error: Exception) -> None:
        for table in (self._finished, self._metadata):
            for future in table.pop(key, []):
                if not future.done():
                    future.set_exception(error)
        for flush_key in [k for k in self._flushes if k[0] == key]:
            for future in self._flushes.pop(flush_key):
                if not future.done():
                    future.set_exception(error)
        for piece_key in [k for k in self._pieces if k[0] == key]:
            for future in self._pieces.pop(piece_key):
                if not future.done():
                    future.set_exception(error)

    async def _await(
        self,
        table: dict[str, list[asyncio.Future[None]]],
        key: str,
        timeout: float | None,
    ) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        table.setdefault(key, []).append(future)
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            waiters = table.get(key)
            if waiters is not None and future in waiters:
                waiters.remove(future)

    # adding and removing ---------------------------------------------------------------------

    def subscribe(self, callback: Callable[[EngineEvent], None]) -> None:
        """Call ``callback`` with every engine event from now on."""
        self._subscribers.append(callback)

    def _require_session(self) -> Any:
        if self._session is None:
            raise SwarmfeedError("the engine is not running")
        return self._session

    async def add_torrent(
        self,
        torrent: bytes,
        save_path: Path,
        *,
        seed_mode: bool = False,
        authored: bool = False,
    ) -> str:
        """Add a complete .torrent; ``seed_mode`` skips the hash check of files we just made.

        ``authored`` marks this node's own content, which the seeding policy treats apart.
        """
        session = self._require_session()
        try:
            info = lt.torrent_info(torrent)
        except RuntimeError as exc:
            raise InvalidInput(f"not a valid torrent: {exc}") from exc
        key = str(info.info_hashes().v1)
        if key in self._handles and self._handles[key].is_valid():
            return key
        params = lt.add_torrent_params()
        params.ti = info
        params.save_path = str(save_path)
        flags = params.flags & ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
        if seed_mode:
            flags |= lt.torrent_flags.seed_mode
        params.flags = flags
        save_path.mkdir(parents=True, exist_ok=True)
        handle = session.add_torrent(params)
        if authored:
            self._authored.add(key)
        self._track(key, handle)
        # Decide at once: the first followers connect within a second of a post.
        self._tune_added(key, handle)
        handle.save_resume_data(lt.save_resume_flags_t.save_info_dict)
        return key

    async def add_magnet(
        self,
        infohash: bytes,
        infohash_v2: bytes | None,
        save_path: Path,
        *,
        name: str | None = None,
        check_metadata: MetadataCheck | None = None,
        peers: Sequence[tuple[str, int]] = (),
    ) -> str:
        """Add a torrent by infohash; with ``check_metadata`` no piece is fetched until it passes.

        The metadata (BEP 9) comes from peers found through the DHT, and at once from ``peers``
        (hints such as the peers of the same author's other torrents) when given. Idempotent:
        for a torrent already present whose metadata was never checked, the check is registered
        (or run).
        """
        session = self._require_session()
        key = infohash.hex()
        existing = self._handles.get(key)
        if existing is not None and existing.is_valid():
            for endpoint in peers:
                existing.connect_peer(endpoint)
            if check_metadata is not None and self._unchecked(existing):
                if existing.has_metadata():
                    if self._run_check(key, existing, check_metadata):
                        self._release(existing)
                else:
                    self._checks[key] = check_metadata
            return key
        params = lt.add_torrent_params()
        hashes = lt.info_hash_t(lt.sha1_hash(infohash))
        if infohash_v2 is not None:
            hashes = lt.info_hash_t(lt.sha1_hash(infohash), lt.sha256_hash(infohash_v2))
        params.info_hashes = hashes
        params.save_path = str(save_path)
        if name:
            params.name = name
        flags = params.flags & ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
        if check_metadata is not None:
            flags |= lt.torrent_flags.default_dont_download
            self._checks[key] = check_metadata
        params.flags = flags
        params.peers = list(peers)
        save_path.mkdir(parents=True, exist_ok=True)
        handle = session.add_torrent(params)
        self._track(key, handle)
        self._tune_added(key, handle)
        return key

    def _release(self, handle: Any) -> None:
        """Let a checked torrent download its files and find its peers again."""
        self._on_disk.discard(self._key(handle))
        handle.prioritize_files([DEFAULT_PRIORITY] * handle.torrent_file().num_files())
        # While nothing was wanted the torrent counted as finished and dropped its seeds.
        handle.force_dht_announce()

    def _complete(self, handle: Any) -> bool:
        """Return True when the torrent has checked metadata and every wanted byte."""
        if self._key(handle) in self._checks or self._unchecked(handle):
            return False
        status = handle.status()
        return bool(status.has_metadata and status.total_wanted_done >= status.total_wanted)

    def _track(self, key: str, handle: Any) -> None:
        self._handles[key] = handle
        self._added[key] = loop_time()
        handle.force_dht_announce()

    @staticmethod
    def _unchecked(handle: Any) -> bool:
        if not handle.has_metadata():
            return True
        priorities = handle.get_file_priorities()
        return bool(priorities) and all(p == 0 for p in priorities)

    def _drop(self, key: str, handle: Any, delete_files: bool = True) -> None:
        self._handles.pop(key, None)
        self._added.pop(key, None)
        self._authored.discard(key)
        self._tuning.pop(key, None)
        self._completed_at.pop(key, None)
        self._known_peers.pop(key, None)
        self._checks.pop(key, None)
        self._finishing.pop(key, None)
        self._on_disk.discard(key)
        self._corrupt.pop(key, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.resume_dir / f"{key}{RESUME_SUFFIX}")
        if self._session is not None and handle.is_valid():
            self._session.remove_torrent(handle, lt.options_t.delete_files if delete_files else 0)

    def remove(self, infohash: str, delete_files: bool = False) -> None:
        """Remove a torrent (and optionally its files); unknown torrents are ignored."""
        handle = self._handles.get(infohash)
        if handle is None:
            return
        self._drop(infohash, handle, delete_files)
        self._fail(infohash, TorrentRefused(f"torrent {infohash} was removed"))

    def infohashes(self) -> list[str]:
        """Return the v1 infohash (hex) of every torrent in the session."""
        return [key for key, handle in self._handles.items() if handle.is_valid()]

    def has(self, infohash: str) -> bool:
        """Return True if the session holds the torrent."""
        handle = self._handles.get(infohash)
        return handle is not None and handle.is_valid()

    def _handle(self, infohash: str) -> Any:
        handle = self._handles.get(infohash)
        if handle is None or not handle.is_valid():
            raise NotFound(f"no torrent {infohash}")
        return handle

    async def wait_finished(self, infohash: str, timeout: float | None = None) -> None:
        """Wait until every wanted piece is downloaded and in its file (at once if seeding)."""
        handle = self._handle(infohash)
        if not self._complete(handle) or infohash in self._finishing:
            await self._await(self._finished, infohash, timeout)
        elif infohash not in self._on_disk:
            # Complete, but its torrent_finished_alert is not handled yet (or never comes, as
            # for seed mode): make sure nothing of it waits in the disk cache.
            await self._flushed(infohash, handle, timeout)
            self._on_disk.add(infohash)

    async def wait_metadata(self, infohash: str, timeout: float | None = None) -> None:
        """Wait until the torrent has metadata that passed its check."""
        handle = self._handle(infohash)
        if handle.has_metadata() and infohash not in self._checks:
            return
        await self._await(self._metadata, infohash, timeout)

    # streaming -------------------------------------------------------------------------------

    async def wait_range(
        self, infohash: str, file_index: int, start: int, end: int, timeout: float = 120.0
    ) -> None:
        """Fetch the pieces covering [start, end) of a file first (piece deadlines) and wait."""
        handle = self._handle(infohash)
        if not handle.has_metadata():
            await self.wait_metadata(infohash, timeout)
        info = handle.torrent_file()
        storage = info.files()
        if end <= start:
            return
        base = storage.file_offset(file_index)
        piece_length = info.piece_length()
        first = (base + start) // piece_length
        last = (base + end - 1) // piece_length
        missing = [piece for piece in range(first, last + 1) if not handle.have_piece(piece)]
        for order, piece in enumerate(missing):
            if handle.piece_priority(piece) == 0:
                handle.piece_priority(piece, DEFAULT_PRIORITY)
            handle.set_piece_deadline(piece, 50 * order)
        corrupt = sorted(self._corrupt.get(infohash, set()).intersection(missing))
        if corrupt:  # asked for again above; this reader is told at once
            raise CorruptData(
                f"piece {corrupt[0]} of {infohash} failed its hash check: a peer sent bad data"
            )
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []
        for piece in missing:
            future: asyncio.Future[None] = loop.create_future()
            self._pieces.setdefault((infohash, piece), []).append(future)
            futures.append(future)
        # A piece may have completed between have_piece() and the registration above.
        for piece in missing:
            if handle.have_piece(piece):
                for future in self._pieces.pop((infohash, piece), []):
                    if not future.done():
                        future.set_result(None)
        if futures:
            await asyncio.wait_for(asyncio.gather(*futures), timeout)
        await self._wait_written(infohash, handle, first, last, timeout)

    async def _wait_written(
        self, infohash: str, handle: Any, first: int, last: int, timeout: float
    ) -> None:
        """Wait until pieces ``first``..``last`` (all passed) are in the file, not only cached.

        libtorrent posts piece_finished_alert (and have_piece() turns true) once a piece passes
        its hash check, which may be before its last blocks leave the disk cache; a reader of
        the file would then see zeros. A piece still in the download queue has such blocks:
        flush the torrent's cache (a fence behind every pending write) and wait for it.
        """
        if infohash in self._on_disk:
            return
        # Once complete, libtorrent drops its piece picker (and download queue) at once.
        complete = self._complete(handle)
        writing = {int(entry["piece_index"]) for entry in handle.get_download_queue()}
        if complete or any(first <= piece <= last for piece in writing):
            await self._flushed(infohash, handle, timeout)
            if complete:
                self._on_disk.add(infohash)

    def set_sequential(self, infohash: str, on: bool) -> None:
        """Download pieces in order (for playback near the playhead)."""
        handle = self._handle(infohash)
        if on:
            handle.set_flags(lt.torrent_flags.sequential_download)
        else:
            handle.unset_flags(lt.torrent_flags.sequential_download)

    # queries ---------------------------------------------------------------------------------

    def torrent_file(self, infohash: str) -> bytes | None:
        """Return the bencoded .torrent (with info dict) or None before metadata."""
        handle = self._handle(infohash)
        if not handle.has_metadata():
            return None
        return bytes(lt.bencode(lt.create_torrent(handle.torrent_file()).generate()))

    def info_section(self, infohash: str) -> bytes | None:
        """Return the raw bencoded info dict, or None before metadata."""
        handle = self._handle(infohash)
        if not handle.has_metadata():
            return None
        return bytes(handle.torrent_file().info_section())

    def files(self, infohash: str) -> list[FileEntry]:
        """Return the torrent's files (pad files left out)."""
        handle = self._handle(infohash)
        if not handle.has_metadata():
            return []
        info = handle.torrent_file()
        storage = info.files()
        save_path = Path(handle.save_path())
        name = info.name()
        entries = []
        for index in range(storage.num_files()):
            if storage.file_flags(index) & lt.file_storage.flag_pad_file:
                continue
            full = storage.file_path(index)
            parts = full.replace("\\", "/").split("/")
            relative = "/".join(parts[1:]) if len(parts) > 1 and parts[0] == name else full
            entries.append(
                FileEntry(
                    index=index,
                    path=relative,
                    size=storage.file_size(index),
                    offset=storage.file_offset(index),
                    absolute_path=save_path / full,
                )
            )
        return entries

    def status(self, infohash: str) -> TorrentStatus:
        """Return a snapshot of one torrent."""
        return self._status(self._handle(infohash))

    def list_status(self) -> list[TorrentStatus]:
        """Return snapshots of every torrent."""
        return [self._status(h) for h in list(self._handles.values()) if h.is_valid()]

    def _status(self, handle: Any) -> TorrentStatus:
        s = handle.status()
        error = s.errc.message() if s.errc.value() != 0 else None
        state = s.state.name
        if error:
            state = "error"
        elif s.flags & lt.torrent_flags.paused:
            state = "paused"
        elif s.has_metadata and self._unchecked(handle) and not s.is_seeding:
            state = "checking_metadata"
        return TorrentStatus(
            infohash=self._key(handle),
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
            num_seeds=int(s.num_seeds),
            is_seeding=bool(s.is_seeding),
            has_metadata=bool(s.has_metadata),
            distributed_copies=float(s.distributed_copies),
            error=error,
            save_path=str(s.save_path),
            super_seeding=bool(s.flags & lt.torrent_flags.super_seeding),
            completed_at=self._completed_at.get(self._key(handle)),
        )

    def descriptors_needed(self) -> int:
        """Return how many file descriptors the session may hold at its limits.

        libtorrent keeps at most ``connections_limit`` peer sockets (half-open ones included)
        and ``file_pool_size`` open files; its listen, uTP and DHT sockets and internal pipes
        come on top (ENGINE_SOCKETS).
        """
        settings = {**lt.default_settings(), **self._settings()}
        return int(settings["connections_limit"]) + int(settings["file_pool_size"]) + ENGINE_SOCKETS

    def session_status(self) -> SessionStatus:
        """Return a snapshot of the session (counters refreshed every stats interval)."""
        session = self._require_session()
        stats = self._stats
        up, down = self._rates
        return SessionStatus(
            dht_nodes=int(stats.get("dht.dht_nodes", 0)),
            num_torrents=len(self._handles),
            num_peers=int(stats.get("peer.num_peers_connected", 0)),
            upload_rate=up,
            download_rate=down,
            total_upload=int(stats.get("net.sent_payload_bytes", 0)),
            total_download=int(stats.get("net.recv_payload_bytes", 0)),
            listen_port=int(session.listen_port()),
            incoming_connections=int(stats.get("peer.incoming_connections", 0)),
            external_ip=self._external_ip,
        )

    def dht_nodes(self) -> list[tuple[str, int]]:
        """Return the DHT routing table's nodes (from the session's saved DHT state)."""
        if self._session is None:
            return []
        state = lt.write_session_params_buf(
            self._session.session_state(), lt.save_state_flags_t.save_dht_state
        )
        try:
            decoded = bencoding.decode(bytes(state))
        except InvalidInput:
            return []
        dht = decoded.get(b"dht state", {}) if isinstance(decoded, dict) else {}
        nodes: list[tuple[str, int]] = []
        for compact in dht.get(b"nodes", []) if isinstance(dht, dict) else []:
            if isinstance(compact, bytes) and len(compact) == 6:
                host = socket.inet_ntoa(compact[:4])
                nodes.append((host, int.from_bytes(compact[4:], "big")))
        return nodes

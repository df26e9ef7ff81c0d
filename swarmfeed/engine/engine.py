"""The engine: one libtorrent session behind swarmfeed's own types, driven from asyncio.

``Engine`` is a small front over parts that each own one concept (parts.py builds and wires
them):

- settings.py: the session's settings; alerts.py: the alert loop, dispatch by alert type;
- table.py: one record per torrent and the fresh set; waiters.py: keyed waits;
- torrents.py: add and remove; metadata.py: the metadata check gate; peers.py: peer hints;
- completion.py, flushes.py: "finished and in the files"; streaming.py: byte ranges;
- status.py: statuses from state updates; stats.py: session counters;
- resume.py, restore.py: resume data saved off the loop, restored in the background;
- seeding.py: the seeding policy (core/policy.py) applied; serving.py: scarce swarms first;
  dht.py: DHT upkeep; rendezvous.py: peers met under a key.

Only ``swarmfeed/engine/`` imports libtorrent; nothing of libtorrent leaves it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from swarmfeed.engine import content
from swarmfeed.engine.parts import build_parts
from swarmfeed.engine.settings import ENGINE_SOCKETS, descriptors_needed, open_session
from swarmfeed.engine.status import restoring_status
from swarmfeed.engine.table import Endpoint, EngineState, MetadataCheck, Torrent
from swarmfeed.engine.types import (
    EngineConfig,
    EngineEvent,
    FileEntry,
    SessionStatus,
    TorrentRefused,
    TorrentStatus,
)
from swarmfeed.errors import SwarmfeedError

__all__ = ["ENGINE_SOCKETS", "Engine", "MetadataCheck", "TorrentRefused"]


class Engine:
    """Owns one libtorrent session; the rest of swarmfeed sees only swarmfeed types."""

    def __init__(
        self, config: EngineConfig, state_dir: Path, *, logger: logging.Logger | None = None
    ) -> None:
        """Build the parts over a new engine state; the session opens in start()."""
        self.config = config
        self.state_dir = state_dir
        self.resume_dir = state_dir / "resume"
        self.state = EngineState(config, logger or logging.getLogger("swarmfeed.engine"))
        self.parts = parts = build_parts(self.state, self.resume_dir, self._restored)
        self.alerts = parts.alerts
        self.stats = parts.stats
        self.statuses = parts.statuses
        self.flushes = parts.flushes
        self.peers = parts.peers
        self.files_queue = parts.files_queue
        self.saver = parts.saver
        self.completion = parts.completion
        self.gate = parts.gate
        self.streaming = parts.streaming
        self.seeding = parts.seeding
        self.restorer = parts.restorer
        self.torrents = parts.torrents
        self.dht = parts.dht
        self.serving = parts.serving
        self.rendezvous = parts.rendezvous
        self._tasks: list[asyncio.Task[None]] = []
        self._listen_port = 0

    @property
    def running(self) -> bool:
        """Return True between start() and stop()."""
        return self.state.session is not None

    def counter(self, name: str) -> int:
        """Return libtorrent's session counter ``name`` (e.g. ``dht.dht_nodes``), 0 before any."""
        return self.stats.get(name)

    @property
    def _session(self) -> Any:
        """The libtorrent session (for tests that check libtorrent's own view)."""
        return self.state.session

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the session, hook its alerts into the loop, start restoring saved torrents.

        Returns at once; torrents come back from resume data in the background
        (``session_status().restoring``, ``wait_restored``).
        """
        self.resume_dir.mkdir(parents=True, exist_ok=True)
        session = open_session(self.config, self.seeding.tuning)
        self.state.session = session
        self._listen_port = int(session.listen_port())
        self.alerts.attach(session)
        self.dht.start()
        self.files_queue.start()
        self.restorer.start()
        self._tasks += [
            asyncio.create_task(self._tick()),
            asyncio.create_task(self._policy_rounds()),
            asyncio.create_task(self.saver.periodic(self.config.resume_save_interval)),
            asyncio.create_task(self.dht.announce_fresh()),
        ]
        if self.config.serve_scarce_first:
            self._tasks.append(asyncio.create_task(self.serving.rounds()))
        self.alerts.drain()

    async def stop(self) -> None:
        """Save the resume data of every torrent that changed, then close the session."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.state.session is None:
            return
        await self.restorer.stop()
        await self.completion.stop()
        await self.save_all_resume_data(timeout=20.0)
        await self.files_queue.stop()
        self.alerts.detach()
        self.state.session.pause()
        self.state.session = None
        self.parts.fail_waiters(SwarmfeedError("the engine stopped"))

    async def save_all_resume_data(self, timeout: float = 20.0) -> None:
        """Save (bounded) every torrent changed since its last save and wait until written."""
        if self.state.session is not None:
            await self.saver.save_changed_now(timeout)

    async def save_resume_data(self, infohash: str, timeout: float | None = 10.0) -> None:
        """Save one torrent's resume data now and wait until its file is written."""
        await self.saver.save_now([self._torrent(infohash)], timeout)

    async def wait_restored(self) -> None:
        """Wait until every torrent found at start is restored from its resume data."""
        await self.restorer.finished()

    def subscribe(self, callback: Callable[[EngineEvent], None]) -> None:
        """Call ``callback`` with every engine event from now on."""
        self.state.subscribe(callback)

    async def _tick(self) -> None:
        """Ask for session counters and changed torrent statuses on the stats timer."""
        while True:
            session = self.state.session
            if session is not None:
                session.post_session_stats()
                self.statuses.request()
                # A synchronous call into libtorrent's thread: once a tick, not per request.
                self._listen_port = int(session.listen_port())
            await asyncio.sleep(self.config.stats_interval)  # stats are posted on a timer

    async def _policy_rounds(self) -> None:
        while True:
            await asyncio.sleep(self.seeding.interval())  # policy re-evaluation cadence
            self.apply_policy()

    def apply_policy(self) -> None:
        """Retire torrents no longer fresh and re-decide the seeding of the fresh ones."""
        retired = self.state.table.expire(time.time())
        self.dht.retire(retired)
        self.seeding.apply(retired)

    def _restored(self, torrent: Torrent) -> None:
        # Fresh again only if it was fresh before the stop: a fresh torrent is in the DHT, and
        # a back-catalogue one fetched minutes ago is not (with dht_fresh_only), so a restart
        # right after a catch-up does not make the per-second policy look at all of it.
        self.state.table.put(torrent, fresh=torrent.dht, now=time.time())

    # adding and removing ---------------------------------------------------------------------

    async def add_torrent(
        self,
        torrent: bytes,
        save_path: Path,
        *,
        seed_mode: bool = False,
        authored: bool = False,
        dht: bool = True,
        fresh: bool = True,
    ) -> str:
        """Add a complete .torrent; ``seed_mode`` skips the hash check of files we just made.

        ``authored`` marks this node's own content, which the seeding policy treats apart.
        ``dht=False`` keeps the torrent out of the DHT (peers come through ``connect_peers``).
        ``fresh=False`` marks back-catalogue content: no fresh-post tuning or re-announcing.
        Idempotent; its resume data is saved at once (``save_resume_data`` waits for it).
        """
        return await self.torrents.add_torrent(
            torrent, save_path, seed_mode=seed_mode, authored=authored, dht=dht, fresh=fresh
        )

    async def add_magnet(
        self,
        infohash: bytes,
        infohash_v2: bytes | None,
        save_path: Path,
        *,
        name: str | None = None,
        check_metadata: MetadataCheck | None = None,
        peers: Sequence[Endpoint] = (),
        dht: bool = True,
        fresh: bool = True,
    ) -> str:
        """Add a torrent by infohash; with ``check_metadata`` no piece is fetched until it passes.

        The metadata (BEP 9) comes from peers found through the DHT (unless ``dht=False``) and
        at once from ``peers`` (e.g. an author's rendezvous peers). Idempotent: for a torrent
        already present, ``peers`` are connected and a check its metadata never had is
        registered (or run). ``fresh`` as for ``add_torrent``.
        """
        return await self.torrents.add_magnet(
            infohash,
            infohash_v2,
            save_path,
            name=name,
            check_metadata=check_metadata,
            peers=peers,
            dht=dht,
            fresh=fresh,
        )

    def remove(self, infohash: str, delete_files: bool = False) -> None:
        """Remove a torrent (and optionally its files); unknown torrents are ignored."""
        self.torrents.remove(infohash, delete_files)

    def infohashes(self) -> list[str]:
        """Return the v1 infohash (hex) of every torrent in the session (or being restored)."""
        return [t.key for t in self.state.table] + self.restorer.pending()

    def has(self, infohash: str) -> bool:
        """Return True if the session holds the torrent (or restores it from resume data)."""
        return self.state.table.get(infohash) is not None or self.restorer.is_pending(infohash)

    def _torrent(self, infohash: str) -> Torrent:
        return self.state.table.require(infohash)

    async def _restored_torrent(self, infohash: str, timeout: float | None) -> Torrent:
        await self.restorer.wait(infohash, timeout)
        return self._torrent(infohash)

    # peers and the DHT -----------------------------------------------------------------------

    def connect_peers(self, infohash: str, peers: Iterable[Endpoint]) -> None:
        """Hand ``peers`` (listen addresses) to a torrent; it connects them on the next round."""
        self.peers.connect(self._torrent(infohash), peers)

    def set_dht(self, infohash: str, on: bool) -> None:
        """Switch a torrent's DHT announces and lookups (BEP 5) on or off."""
        self.dht.set_dht(self._torrent(infohash), on)

    def announce_rendezvous(self, key: bytes) -> None:
        """Announce this node's BitTorrent port under a 20-byte ``key`` (rendezvous.py)."""
        self.rendezvous.announce(key)

    async def find_rendezvous(self, key: bytes, *, timeout: float, want: int = 1) -> list[Endpoint]:
        """Return peers announced under ``key``: at ``want`` found, or what ``timeout`` gave."""
        return await self.rendezvous.find(key, timeout=timeout, want=want)

    def peer_hints(self, infohashes: Iterable[str]) -> list[Endpoint]:
        """Return the listen addresses of peers known for any of ``infohashes``."""
        return self.peers.hints(infohashes)

    def dht_nodes(self) -> list[Endpoint]:
        """Return the DHT routing table's nodes (from the session's saved DHT state)."""
        return self.dht.routing_table()

    async def wait_dht_nodes(self, count: int, timeout: float | None = None) -> None:
        """Wait until the DHT routing table holds at least ``count`` nodes."""
        await self.dht.wait_nodes(count, timeout)

    # waiting ---------------------------------------------------------------------------------

    async def wait_finished(self, infohash: str, timeout: float | None = None) -> None:
        """Wait until every wanted piece is downloaded and in its file (at once if seeding)."""
        torrent = await self._restored_torrent(infohash, timeout)
        await self.completion.wait_finished(torrent, timeout)

    async def wait_metadata(self, infohash: str, timeout: float | None = None) -> None:
        """Wait until the torrent has metadata that passed its check."""
        torrent = await self._restored_torrent(infohash, timeout)
        await self.gate.wait_metadata(torrent, timeout)

    async def wait_range(
        self, infohash: str, file_index: int, start: int, end: int, timeout: float = 120.0
    ) -> None:
        """Fetch the pieces covering [start, end) of a file first (piece deadlines) and wait."""
        torrent = await self._restored_torrent(infohash, timeout)
        await self.streaming.wait_range(torrent, file_index, start, end, timeout)

    def set_sequential(self, infohash: str, on: bool) -> None:
        """Download pieces in order (for playback near the playhead)."""
        self.streaming.set_sequential(self._torrent(infohash), on)

    # queries ---------------------------------------------------------------------------------

    def torrent_file(self, infohash: str) -> bytes | None:
        """Return the bencoded .torrent (with info dict) or None before metadata."""
        return content.torrent_bytes(self._torrent(infohash))

    def info_section(self, infohash: str) -> bytes | None:
        """Return the raw bencoded info dict, or None before metadata."""
        return content.info_section(self._torrent(infohash))

    def files(self, infohash: str) -> list[FileEntry]:
        """Return the torrent's files (pad files left out)."""
        torrent = self._torrent(infohash)
        return content.file_entries(torrent, torrent.status or self.statuses.refresh(torrent))

    def status(self, infohash: str, *, cached: bool = False) -> TorrentStatus:
        """Return a snapshot of one torrent: asked of libtorrent now, or as last updated.

        ``cached`` takes the status of the last state update (at most a second old) when there
        is one: pages showing many posts make no synchronous call per post into libtorrent's
        thread. A torrent still queued for restore is "restoring".
        """
        if self.restorer.is_pending(infohash):
            return restoring_status(infohash)
        torrent = self._torrent(infohash)
        if cached and torrent.status is not None:
            return torrent.status
        return self.statuses.refresh(torrent)

    def list_status(self) -> list[TorrentStatus]:
        """Return snapshots of every torrent, as of the last state update (no libtorrent call)."""
        return [t.status for t in self.state.table if t.status is not None]

    def descriptors_needed(self) -> int:
        """Return how many file descriptors the session may hold at its limits.

        libtorrent keeps at most ``connections_limit`` peer sockets (half-open ones included)
        and ``file_pool_size`` open files; its listen, uTP and DHT sockets and internal pipes
        come on top (ENGINE_SOCKETS).
        """
        return descriptors_needed(self.config, self.seeding.tuning)

    def session_status(self) -> SessionStatus:
        """Return a snapshot of the session (counters refreshed every stats interval)."""
        self.state.require_session()
        restore = self.restorer.progress()
        return replace(
            self.stats.session_status(self._listen_port, len(self.state.table)),
            restoring=restore.running,
            restored=restore.done,
            to_restore=restore.total,
            seeding=len(self.statuses.seeding),
        )

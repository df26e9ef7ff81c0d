"""The engine's table of torrents: one record per torrent, and which of them are fresh.

libtorrent keeps the torrent's own state; a record keeps what swarmfeed knows besides (who
made it, whether its metadata still waits for a check, the last status libtorrent posted, ...),
so the engine has one map instead of one map per fact. Freshness is wall-clock time since the
torrent was added (libtorrent stores it in the resume data as ``added_time``), so a restart
does not make ten thousand old torrents fresh again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from swarmfeed.core.policy import FRESH_SECONDS, PLAIN_TORRENT, TorrentTuning
from swarmfeed.engine.types import EngineConfig, EngineEvent, TorrentStatus
from swarmfeed.errors import NotFound, SwarmfeedError

Endpoint = tuple[str, int]
MetadataCheck = Callable[[bytes], None]

MAX_KNOWN_PEERS = 16
"""Peer addresses remembered per torrent (hints for the author's next torrents)."""


def key_of(handle: Any) -> str:
    """Return the engine's key of a torrent: its v1 infohash in hex."""
    return str(handle.info_hashes().v1)


@dataclass(eq=False)
class Torrent:
    """What the engine knows about one torrent besides libtorrent's own state."""

    key: str
    handle: Any
    added_at: float
    """Wall-clock time (POSIX seconds) the torrent was first added (kept across restarts)."""
    hybrid: bool
    """It has a v2 infohash (BEP 52): post media. Feed pages are v1-only."""
    authored: bool = False
    """This node made it (own post): the seeding policy treats it apart."""
    dht: bool = True
    """Announced and looked up in the DHT (BEP 5); off: peers come through connect_peer."""
    check: MetadataCheck | None = None
    """The metadata check still to run (the torrent is held until it passes)."""
    held: bool = False
    """No piece is fetched: the metadata is missing or not checked yet (default_dont_download)."""
    releasing: bool = False
    """Released from the hold; libtorrent has not applied the new file priorities yet (it does
    so in its disk thread and then posts file_prio_alert): nothing is wanted so far."""
    restored: bool = False
    """Added from resume data in this session."""
    sources: set[Endpoint] = field(default_factory=set)
    """Peers handed to this torrent (connect_peer), reconnected when a held torrent is released."""
    known_peers: set[Endpoint] = field(default_factory=set)
    """Listen addresses of peers this node connected to for the torrent (hints for others)."""
    corrupt: set[int] = field(default_factory=set)
    """Pieces that failed their hash check and have not passed one since."""
    completed_at: float | None = None
    on_disk: bool = False
    """Complete and every byte of it is in its files (not only in the disk cache)."""
    finishing: bool = False
    """torrent_finished_alert came; waiting for the disk cache flush before reporting it."""
    seeds_known: int = 0
    """Seeds in libtorrent's peer list of the torrent, connected or not (``list_seeds``)."""
    tuning: TorrentTuning = PLAIN_TORRENT
    status: TorrentStatus | None = None
    """The last status libtorrent posted (state_update_alert) or the engine asked for."""


class TorrentTable:
    """Every torrent in the session by key, and the fresh ones by when they stop being fresh."""

    def __init__(self) -> None:
        self._torrents: dict[str, Torrent] = {}
        self._fresh_until: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._torrents)

    def __iter__(self) -> Iterator[Torrent]:
        return iter(list(self._torrents.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._torrents

    def get(self, key: str) -> Torrent | None:
        """Return the record of ``key`` if its handle is still valid."""
        torrent = self._torrents.get(key)
        if torrent is None or not torrent.handle.is_valid():
            return None
        return torrent

    def require(self, key: str) -> Torrent:
        """Return the record of ``key`` or raise NotFound."""
        torrent = self.get(key)
        if torrent is None:
            raise NotFound(f"no torrent {key}")
        return torrent

    def put(self, torrent: Torrent, *, fresh: bool, now: float) -> None:
        """Add ``torrent``; a fresh one stays fresh until FRESH_SECONDS after it was added."""
        self._torrents[torrent.key] = torrent
        if fresh and now - torrent.added_at < FRESH_SECONDS:
            self._fresh_until[torrent.key] = torrent.added_at + FRESH_SECONDS

    def pop(self, key: str) -> Torrent | None:
        """Forget ``key``; return its record."""
        self._fresh_until.pop(key, None)
        return self._torrents.pop(key, None)

    def is_fresh(self, key: str) -> bool:
        """Return True while ``key`` is a fresh torrent."""
        return key in self._fresh_until

    def fresh(self) -> list[Torrent]:
        """Return the fresh torrents (few: the ones added in the last FRESH_SECONDS)."""
        return [t for key in self._fresh_until if (t := self.get(key)) is not None]

    def expire(self, now: float) -> list[Torrent]:
        """Return the torrents that stopped being fresh by ``now`` (wall clock)."""
        gone = [key for key, until in self._fresh_until.items() if until <= now]
        for key in gone:
            del self._fresh_until[key]
        return [t for key in gone if (t := self.get(key)) is not None]


class EngineState:
    """What every part of the engine shares: config, log, session, torrent table, events."""

    def __init__(self, config: EngineConfig, log: logging.Logger) -> None:
        self.config = config
        self.log = log
        self.table = TorrentTable()
        self.session: Any = None
        self._subscribers: list[Callable[[EngineEvent], None]] = []

    def require_session(self) -> Any:
        """Return the running session or raise SwarmfeedError."""
        if self.session is None:
            raise SwarmfeedError("the engine is not running")
        return self.session

    def subscribe(self, callback: Callable[[EngineEvent], None]) -> None:
        """Call ``callback`` with every engine event from now on."""
        self._subscribers.append(callback)

    def emit(self, event: EngineEvent) -> None:
        """Hand ``event`` to every subscriber; a failing subscriber is logged."""
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                self.log.exception("engine event subscriber failed on %r", event)

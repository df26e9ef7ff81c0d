"""swarmfeed's own view of torrents and the session; no libtorrent object leaves the engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swarmfeed.core.policy import SeedPolicy
from swarmfeed.errors import InvalidInput


@dataclass(frozen=True)
class EngineConfig:
    """How the libtorrent session is set up."""

    listen_interface: str
    bootstrap_nodes: tuple[tuple[str, int], ...] = ()
    public_dht: bool = True
    local_only: bool = False
    upload_rate_limit: int = 0
    download_rate_limit: int = 0
    rate_limit_local_peers: bool = False
    seed_policy: SeedPolicy = SeedPolicy.ADAPTIVE
    resume_save_interval: float = 60.0
    stats_interval: float = 1.0
    policy_interval: float = 1.0
    connections_limit: int = 400
    """Peer connections at most (libtorrent: 200). Seeds drop each other and idle connections
    time out, so connections serve transfers in progress: a viral post's swarm and a
    catch-up's concurrent downloads, with room for incoming peers. Each is a file descriptor."""
    dht_fresh_only: bool = False
    """Announce torrents in the DHT (BEP 5) only while they are fresh: older ones are switched
    to ``disable_dht`` and get their peers through ``connect_peers`` (e.g. from an author's
    rendezvous), so DHT traffic grows with fresh posts, not with posts held."""
    restore_batch: int = 50
    """Torrents restored from resume data per step before the loop serves others again."""
    serve_scarce_first: bool = True
    """Hold swarms with enough other seeds to a background share of the upload while a swarm
    with few other seeds wants it (core/serving.py)."""


@dataclass(frozen=True)
class CreatedTorrent:
    """A torrent made from local files: hybrid v1+v2 (BEP 52), or v1-only for feed pages."""

    torrent: bytes
    infohash: bytes
    infohash_v2: bytes | None
    name: str
    files: tuple[tuple[str, int], ...]
    piece_length: int
    info_section: bytes


@dataclass(frozen=True)
class TorrentStatus:
    """A snapshot of one torrent."""

    infohash: str
    name: str
    state: str
    progress: float
    total_wanted: int
    total_done: int
    download_rate: int
    upload_rate: int
    total_upload: int
    total_download: int
    all_time_upload: int
    num_peers: int
    num_seeds: int
    """Seeds seen: connected now, or known as seeds in the torrent's peer list."""
    is_seeding: bool
    has_metadata: bool
    distributed_copies: float
    error: str | None
    save_path: str
    super_seeding: bool = False
    completed_at: float | None = None
    """Wall-clock time (POSIX seconds) this session finished downloading the torrent and had
    its bytes in the files; None for torrents not downloaded in this session."""
    dht: bool = True
    """The torrent is announced and looked up in the DHT (BEP 5)."""


@dataclass(frozen=True)
class SessionStatus:
    """A snapshot of the whole session."""

    dht_nodes: int
    num_torrents: int
    num_peers: int
    upload_rate: int
    download_rate: int
    total_upload: int
    total_download: int
    listen_port: int
    incoming_connections: int = 0
    """Peer connections accepted since the session started (session stats)."""
    external_ip: str | None = None
    """Our address as other nodes and peers see it (libtorrent's external_ip_alert), if known."""
    dht_packets_out: int = 0
    """DHT messages this session sent since it started (session stats ``dht_messages_out``)."""
    dht_packets_in: int = 0
    dht_bytes_out: int = 0
    dht_lookups_out: int = 0
    """get_peers queries sent (BEP 5): torrent and rendezvous lookups and announces."""
    dht_announces_out: int = 0
    """announce_peer queries sent (BEP 5)."""
    restoring: bool = False
    """Torrents are still being restored from resume data (the rest of the node works)."""
    restored: int = 0
    """Resume files handled so far (added or refused) ..."""
    to_restore: int = 0
    seeding: int = 0
    """Torrents complete and seeding, as of the last state update."""
    """... out of this many found at start."""


class TorrentRefused(InvalidInput):
    """A torrent was refused (its metadata failed a check) or removed while awaited."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a torrent, with its path relative to the torrent's root folder."""

    index: int
    path: str
    size: int
    offset: int
    absolute_path: Path


@dataclass(frozen=True)
class TorrentFinished:
    """Every wanted piece of a torrent is downloaded and verified."""

    infohash: str


@dataclass(frozen=True)
class MetadataReceived:
    """A magnet's metadata arrived and passed its check; files are being downloaded."""

    infohash: str


@dataclass(frozen=True)
class MetadataRefused:
    """A magnet's metadata failed its check; the torrent was removed with its files."""

    infohash: str
    reason: str


@dataclass(frozen=True)
class TorrentRemoved:
    """A torrent left the session."""

    infohash: str


@dataclass(frozen=True)
class TorrentFailed:
    """A torrent hit a storage or network error."""

    infohash: str
    message: str


@dataclass(frozen=True)
class PieceFailed:
    """A downloaded piece did not match its hash; libtorrent will ask for it again."""

    infohash: str
    piece: int


EngineEvent = (
    TorrentFinished
    | MetadataReceived
    | MetadataRefused
    | TorrentRemoved
    | TorrentFailed
    | PieceFailed
)

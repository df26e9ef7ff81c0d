"""What the node shows of a torrent it holds: the API's rows and the Swarm page's table."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from swarmfeed.core.magnet import torrent_magnet
from swarmfeed.engine.types import TorrentStatus
from swarmfeed.node.labels import torrent_label, torrent_post
from swarmfeed.node.listing import TorrentEntry
from swarmfeed.node.node import Node
from swarmfeed.store.database import StoredPost, TorrentRow


class TorrentView(BaseModel):
    """One torrent in the engine and what it is to swarmfeed."""

    infohash: str
    name: str
    label: str
    """What a person calls it: the post's file names and author, or whose feed page it is."""
    kind: str
    author: str | None
    post_id: str | None
    state: str
    progress: float
    total_wanted: int
    total_done: int
    download_rate: int
    upload_rate: int
    total_upload: int
    total_download: int
    peers: int
    seeds: int
    seeding: bool
    distributed_copies: float
    error: str | None
    completed_at: float | None = None
    """When this node finished downloading it (POSIX seconds); null if it never downloaded it."""
    magnet: str
    """Its magnet link, with this node's reachable addresses as ``x.pe`` peer hints."""
    torrent_url: str
    """Where its .torrent file is exported."""


def torrent_views(node: Node, entries: Sequence[TorrentEntry]) -> list[TorrentView]:
    """Describe ``entries`` (one page of a listing: database and magnet work per row only)."""
    peers = node.peer_addresses()
    return [torrent_view(node, row, status, peers) for row, status in entries]


def torrent_view(
    node: Node,
    row: TorrentRow | None,
    status: TorrentStatus,
    peers: Sequence[tuple[str, int]],
) -> TorrentView:
    """Describe one torrent; ``peers`` are the magnet's ``x.pe`` hints."""
    stored = torrent_post(node.db, row)
    return TorrentView(
        infohash=status.infohash,
        name=status.name,
        label=torrent_label(node.db, row, status.name),
        kind=row.kind if row else "unknown",
        author=row.author if row else None,
        post_id=stored.id if stored else None,
        state=status.state,
        progress=status.progress,
        total_wanted=status.total_wanted,
        total_done=status.total_done,
        download_rate=status.download_rate,
        upload_rate=status.upload_rate,
        total_upload=status.all_time_upload,
        total_download=status.total_download,
        peers=status.num_peers,
        seeds=status.num_seeds,
        seeding=status.is_seeding,
        distributed_copies=status.distributed_copies,
        error=status.error,
        completed_at=status.completed_at,
        magnet=torrent_magnet_of(stored, status, peers),
        torrent_url=f"/api/torrents/{status.infohash}.torrent",
    )


def torrent_magnet_of(
    stored: StoredPost | None, status: TorrentStatus, peers: Sequence[tuple[str, int]]
) -> str:
    """Return the magnet link of a torrent the node holds, with ``peers`` as ``x.pe`` hints.

    Media are hybrid: both infohashes come from their post, ``stored``. Pages are v1 only
    (protocol.md §5). ``peers`` is ``node.peer_addresses()``, asked once for a whole listing.
    """
    media = stored.signed.post.media if stored else None
    infohash = bytes.fromhex(status.infohash)
    v2 = media.infohash_v2 if media is not None and media.infohash == infohash else None
    return torrent_magnet(infohash, v2, status.name or None, peers)

"""GET /api/torrents: what this node seeds and downloads; GET /api/torrents/{ih}.torrent."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from swarmfeed.core.torrentfile import TORRENT_MIME
from swarmfeed.http.deps import NodeDep
from swarmfeed.node.labels import torrent_label, torrent_post_id
from swarmfeed.node.views import torrent_magnet_of

router = APIRouter(prefix="/api", tags=["torrents"])


class TorrentOut(BaseModel):
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


@router.get("/torrents")
async def list_torrents(node: NodeDep) -> list[TorrentOut]:
    """Return every torrent with its state, peers, rates and bytes served to others."""
    peers = node.peer_addresses()
    return [
        TorrentOut(
            infohash=status.infohash,
            name=status.name,
            label=torrent_label(node.db, row, status.name),
            kind=row.kind if row else "unknown",
            author=row.author if row else None,
            post_id=torrent_post_id(node.db, row),
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
            magnet=torrent_magnet_of(node, row, status, peers),
            torrent_url=f"/api/torrents/{status.infohash}.torrent",
        )
        for row, status in node.torrents()
    ]


@router.get(
    "/torrents/{infohash}.torrent",
    response_class=Response,
    responses={200: {"content": {TORRENT_MIME: {}}, "description": "the .torrent file"}},
)
async def export_torrent(node: NodeDep, infohash: str) -> Response:
    """Return a torrent this node holds as a .torrent file (BEP 3; BEP 52 piece layers).

    Media are hybrid v1+v2 torrents, exported with their piece layers once complete here; feed
    pages are v1 torrents. 404 for a torrent the node does not hold, 409 while incomplete.
    """
    exported = await node.export_torrent(infohash)
    return Response(
        exported.data,
        media_type=TORRENT_MIME,
        headers={
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
            "Cache-Control": "no-store",
        },
    )

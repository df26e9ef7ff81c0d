"""GET /api/torrents (a page of them), /api/torrents/{ih} and /api/torrents/{ih}.torrent."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from swarmfeed.core.torrentfile import TORRENT_MIME
from swarmfeed.http.deps import NodeDep
from swarmfeed.node.listing import DEFAULT_LIMIT, MAX_LIMIT, TOTAL_HEADER
from swarmfeed.node.torrentviews import TorrentView, torrent_views

router = APIRouter(prefix="/api", tags=["torrents"])

INFOHASH = re.compile(r"[0-9a-fA-F]{40}")


@router.get("/torrents")
async def list_torrents(
    node: NodeDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    active: bool = False,
) -> list[TorrentView]:
    """Return one page of the torrents: state, peers, rates, bytes served to others.

    Transfers in progress come first, then the most served, then by infohash; ``active``
    keeps only transfers in progress and torrents with traffic now. The whole listing's size
    is in the X-Total-Count header.
    """
    listing = node.torrent_listing(limit=limit, offset=offset, active=active)
    response.headers[TOTAL_HEADER] = str(listing.total)
    return torrent_views(node, listing.entries)


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


# After the export route: "{infohash}" would also match "<ih>.torrent" (and refuse it).
@router.get("/torrents/{infohash}")
async def get_torrent(node: NodeDep, infohash: str) -> TorrentView:
    """Return one torrent's row; 404 for a torrent the node does not hold, 422 for no infohash."""
    if not INFOHASH.fullmatch(infohash):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "an infohash is 40 hex digits (the btih of a magnet link)",
        )
    [view] = torrent_views(node, [node.torrent_entry(infohash)])
    return view

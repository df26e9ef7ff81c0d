"""GET /api/status."""

from __future__ import annotations

from fastapi import APIRouter

from swarmfeed.http.deps import NodeDep
from swarmfeed.node.views import StatusView, status_view

router = APIRouter(prefix="/api", tags=["status"])


@router.get("/status")
async def get_status(node: NodeDep) -> StatusView:
    """Return the author address, DHT node count, torrents, peers and bytes up/down."""
    return status_view(node.status())

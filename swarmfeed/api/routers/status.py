"""GET /api/status."""

from __future__ import annotations

from fastapi import APIRouter

from swarmfeed.api.deps import NodeDep
from swarmfeed.api.schemas import StatusOut, status_out

router = APIRouter(prefix="/api", tags=["status"])


@router.get("/status")
async def get_status(node: NodeDep) -> StatusOut:
    """Return the author address, DHT node count, torrents, peers and bytes up/down."""
    return status_out(node.status())

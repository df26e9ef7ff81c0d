"""GET /api/storage and GET /api/health: what an operator watches."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from swarmfeed.http.deps import NodeDep
from swarmfeed.node.views import HealthView, StorageView, health_view, storage_view

router = APIRouter(prefix="/api", tags=["operators"])


@router.get("/storage")
async def get_storage(node: NodeDep) -> StorageView:
    """Return the media held per author against the total and per-author budgets."""
    return storage_view(node)


@router.get("/health", responses={503: {"model": HealthView}})
async def get_health(node: NodeDep) -> JSONResponse:
    """Return 200 when the node is healthy, 503 with the reasons when it is not."""
    view = health_view(node)
    return JSONResponse(view.model_dump(), status_code=200 if view.ok else 503)

"""The JSON API: one router per resource, over the node's services and view models."""

from __future__ import annotations

from fastapi import FastAPI

from swarmfeed.api.routers import (
    events,
    follows,
    media,
    metrics,
    mirrors,
    posts,
    social,
    storage,
    timeline,
    torrents,
)
from swarmfeed.api.routers import status as status_router


def install(app: FastAPI) -> None:
    """Add every API route to ``app``."""
    for router in (
        status_router.router,
        posts.router,
        social.router,
        timeline.router,
        follows.router,
        mirrors.router,
        storage.router,
        metrics.router,
        media.router,
        torrents.router,
        events.router,
    ):
        app.include_router(router)

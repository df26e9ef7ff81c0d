"""Builds the FastAPI application around a running node."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from swarmfeed import __version__
from swarmfeed.api.routers import follows, media, posts, timeline, torrents
from swarmfeed.api.routers import status as status_router
from swarmfeed.errors import InvalidInput, NotFound, SwarmfeedError, TooLarge
from swarmfeed.node.node import Node
from swarmfeed.node.uploads import UploadTracker

log = logging.getLogger("swarmfeed.api")


def create_app(node: Node) -> FastAPI:
    """Return the API (and, when available, the web UI) serving ``node``."""
    app = FastAPI(
        title="swarmfeed",
        version=__version__,
        description="Signed feeds as torrents, found through the mainline DHT.",
    )
    app.state.node = node
    app.state.uploads = UploadTracker()
    for router in (
        status_router.router,
        posts.router,
        timeline.router,
        follows.router,
        media.router,
        torrents.router,
    ):
        app.include_router(router)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Map swarmfeed's errors to JSON bodies with the right 4xx code."""

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> JSONResponse:
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": str(exc)}, status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_400_BAD_REQUEST)

    @app.exception_handler(SwarmfeedError)
    async def failed(request: Request, exc: SwarmfeedError) -> JSONResponse:
        log.error("failed %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return JSONResponse(
            {"detail": errors or "invalid request"},
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )

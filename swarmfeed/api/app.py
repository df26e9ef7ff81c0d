"""Builds the FastAPI application around a running node."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from swarmfeed import __version__
from swarmfeed.api.routers import events, follows, media, posts, timeline, torrents
from swarmfeed.api.routers import status as status_router
from swarmfeed.errors import InvalidInput, NotFound, SwarmfeedError, TooLarge
from swarmfeed.node.node import Node
from swarmfeed.node.uploads import UploadTracker
from swarmfeed.web import error_page, install
from swarmfeed.web.security import SecurityMiddleware

log = logging.getLogger("swarmfeed.api")


def create_app(node: Node) -> FastAPI:
    """Return the API and the web UI serving ``node``, behind the security middleware."""
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
        events.router,
    ):
        app.include_router(router)
    install(app)
    _add_error_handlers(app)
    app.add_middleware(
        SecurityMiddleware,
        needs_token=lambda scope: node.web_token is not None,
        token=lambda scope: node.web_token,
    )
    return app


def _error(request: Request, code: int, detail: str) -> Response:
    """Answer JSON to API clients and an HTML page to browsers."""
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": detail}, status_code=code)
    titles = {404: "Not found", 413: "Too large", 400: "Not accepted", 409: "Could not do that"}
    return error_page(request, code, titles.get(code, "Error"), detail)


def _add_error_handlers(app: FastAPI) -> None:
    """Map swarmfeed's errors to JSON bodies with the right 4xx code."""

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, status.HTTP_404_NOT_FOUND, str(exc))

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> Response:
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)
        return _error(request, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, str(exc))

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)
        return _error(request, status.HTTP_400_BAD_REQUEST, str(exc))

    @app.exception_handler(SwarmfeedError)
    async def failed(request: Request, exc: SwarmfeedError) -> Response:
        log.error("failed %s %s: %s", request.method, request.url.path, exc)
        return _error(request, status.HTTP_409_CONFLICT, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return JSONResponse(
            {"detail": errors or "invalid request"},
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )

"""How refusals become HTTP answers: JSON for API clients, a page for browsers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from swarmfeed.errors import (
    Busy,
    CorruptData,
    InvalidInput,
    NotFound,
    NotReady,
    SwarmfeedError,
    TooLarge,
)
from swarmfeed.http.headers import RangeNotSatisfiable

log = logging.getLogger("swarmfeed.http")

# Renders an error page for a browser: (request, status, title, message).
PageRenderer = Callable[[Request, int, str, str], Response]

TITLES = {
    400: "Not accepted",
    404: "Not found",
    409: "Could not do that",
    413: "Too large",
    416: "Outside the file",
    502: "Bad data from the swarm",
    503: "Busy",
    504: "Not there yet",
}
RETRY_SECONDS = "5"


def wants_page(request: Request) -> bool:
    """Return True for a browser loading a page (not the API, not a script)."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI, page: PageRenderer | None = None) -> None:
    """Map swarmfeed's errors to status codes, as JSON or (for browsers) through ``page``."""

    def answer(
        request: Request, code: int, detail: str, headers: dict[str, str] | None = None
    ) -> Response:
        if page is not None and wants_page(request):
            response = page(request, code, TITLES.get(code, "Error"), detail)
            response.headers.update(headers or {})
            return response
        return JSONResponse({"detail": detail}, status_code=code, headers=headers)

    def refused(request: Request, exc: Exception) -> None:
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return answer(request, status.HTTP_404_NOT_FOUND, str(exc))

    @app.exception_handler(RangeNotSatisfiable)
    async def unsatisfiable(request: Request, exc: RangeNotSatisfiable) -> Response:
        return answer(
            request,
            status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
            str(exc),
            {"Content-Range": f"bytes */{exc.size}"},
        )

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> Response:
        refused(request, exc)
        # The client may still be sending: end the connection after this answer so the rest
        # of the body is not read.
        return answer(request, status.HTTP_413_CONTENT_TOO_LARGE, str(exc), {"Connection": "close"})

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        refused(request, exc)
        return answer(request, status.HTTP_400_BAD_REQUEST, str(exc))

    @app.exception_handler(CorruptData)
    async def corrupt(request: Request, exc: CorruptData) -> Response:
        refused(request, exc)
        return answer(request, status.HTTP_502_BAD_GATEWAY, str(exc))

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        refused(request, exc)
        return answer(
            request, status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), {"Retry-After": RETRY_SECONDS}
        )

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> Response:
        refused(request, exc)
        return answer(request, status.HTTP_504_GATEWAY_TIMEOUT, str(exc))

    @app.exception_handler(SwarmfeedError)
    async def failed(request: Request, exc: SwarmfeedError) -> Response:
        log.error("failed %s %s: %s", request.method, request.url.path, exc)
        return answer(request, status.HTTP_409_CONFLICT, str(exc))

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, exc: ClientDisconnect) -> Response:
        log.info("%s %s: the client went away", request.method, request.url.path)
        return Response(status_code=status.HTTP_400_BAD_REQUEST)  # nobody reads it

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return JSONResponse(
            {"detail": errors or "invalid request"},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

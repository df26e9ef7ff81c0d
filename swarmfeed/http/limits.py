"""Bounds on what HTTP clients can hold: slots per client, request bodies."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Request bodies of every route but the uploads: JSON follows and small forms.
MAX_SMALL_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpLimits:
    """How much of the node HTTP clients may hold at once (protocol.md §10).

    A browser opens at most six connections to one host; the CLI one. ``per_client`` leaves
    room for several tabs; ``connections`` bounds the file descriptors HTTP can take (the
    soft RLIMIT_NOFILE is sized with it, server/runner.py).
    """

    connections: int = 256
    connections_per_client: int = 32
    event_streams: int = 64
    event_streams_per_client: int = 8
    # A connection must send a complete request head this soon after it opens (or after its
    # previous response): idle and slow-header ("slowloris") connections are closed.
    request_head_seconds: float = 15.0
    # An idle keep-alive connection is closed this soon after its last response (uvicorn).
    keep_alive_seconds: int = 5


class ClientSlots:
    """Counts what each client holds against a total and a per-client cap (no I/O)."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self._held: Counter[str] = Counter()

    @property
    def in_use(self) -> int:
        """Return how many slots are taken."""
        return sum(self._held.values())

    def held_by(self, client: str) -> int:
        """Return how many slots ``client`` holds."""
        return self._held[client]

    def acquire(self, client: str) -> bool:
        """Take a slot for ``client``; return False when the total or its own cap is reached."""
        if self.in_use >= self.total or self._held[client] >= self.per_client:
            return False
        self._held[client] += 1
        return True

    def release(self, client: str) -> None:
        """Give back a slot ``client`` took."""
        if self._held[client] <= 1:
            del self._held[client]
        else:
            self._held[client] -= 1


def client_of(scope: Scope) -> str:
    """Return the client address an ASGI scope names (its IP, without the port)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes with 413, except on the streaming uploads.

    FastAPI reads a JSON or form body whole into memory (and Starlette's form parser accepts a
    thousand 1 MiB fields); small routes never need more than ``limit``. The body is read up to
    the limit here and replayed to the route, so a chunked body without Content-Length is
    bounded too. The upload routes (``streamed``) enforce their own limits as bytes arrive.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        streamed: Collection[tuple[str, str]],
        limit: int = MAX_SMALL_BODY_BYTES,
    ) -> None:
        self.app = app
        self.streamed = frozenset(streamed)
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the body size, then pass the request on."""
        if scope["type"] != "http" or (scope["method"], scope["path"]) in self.streamed:
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await refuse_json(send, 413, f"request body over {self.limit} bytes", close=True)
            return
        body, replay = await read_body(receive, self.limit)
        if body is None:
            await refuse_json(send, 413, f"request body over {self.limit} bytes", close=True)
            return
        await self.app(scope, replay, send)


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) <= 18 else None
    return None


async def read_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """Read a request body of at most ``limit`` bytes; return it and a ``receive`` replaying it.

    The body is None when it is longer than ``limit`` (reading stops there).
    """
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, receive
        chunks.append(chunk)
        more = bool(message.get("more_body", False))
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def refuse_json(
    send: Send,
    code: int,
    detail: str,
    *,
    close: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer ``{"detail": ...}`` with ``code`` (and ``Connection: close`` when asked)."""
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})

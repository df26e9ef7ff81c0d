"""GET /api/events: node events as Server-Sent Events for live pages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from swarmfeed.errors import Busy
from swarmfeed.http.deps import NodeDep, StreamSlotsDep
from swarmfeed.http.limits import client_of
from swarmfeed.node.events import FollowChanged, MediaComplete, NodeEvent, PostAdded

router = APIRouter(prefix="/api", tags=["events"])

KEEPALIVE_SECONDS = 15.0


def encode_event(event: NodeEvent) -> str:
    """Return one SSE message (WHATWG HTML §9.2 event stream format) for a node event."""
    match event:
        case PostAdded(post_id=post_id, author=author, seq=seq):
            name, data = "post", {"id": post_id, "author": author, "seq": seq}
        case FollowChanged(author=author, state=state):
            name, data = "follow", {"author": author, "state": state}
        case MediaComplete(infohash=infohash):
            name, data = "media", {"infohash": infohash}
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


class EventStreamResponse(StreamingResponse):
    """A stream that gives back what it holds however it ends (even if it never started)."""

    def __init__(self, body: AsyncIterator[str], on_close: Callable[[], None]) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream, then release the subscription and the slot."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


@router.get("/events")
async def stream_events(
    request: Request, node: NodeDep, slots: StreamSlotsDep
) -> EventStreamResponse:
    """Stream ``post``, ``follow`` and ``media`` events as they happen (text/event-stream).

    Streams are bounded in all and per client (503 beyond; protocol.md §10).
    """
    client = client_of(request.scope)
    if not slots.acquire(client):
        raise Busy(
            f"too many open event streams ({slots.in_use} in all, "
            f"{slots.held_by(client)} from this client); close a tab or retry later"
        )
    queue = node.events.subscribe()

    async def body() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"
                continue
            if event is None:  # the node is shutting down
                return
            yield encode_event(event)

    def close() -> None:
        node.events.unsubscribe(queue)
        slots.release(client)

    return EventStreamResponse(body(), close)

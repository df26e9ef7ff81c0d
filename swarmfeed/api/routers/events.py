"""GET /api/events: node events as Server-Sent Events for live pages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from swarmfeed.api.deps import NodeDep
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


@router.get("/events")
async def stream_events(request: Request, node: NodeDep) -> StreamingResponse:
    """Stream ``post``, ``follow`` and ``media`` events as they happen (text/event-stream)."""
    queue = node.events.subscribe()

    async def body() -> AsyncIterator[str]:
        try:
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
        finally:
            node.events.unsubscribe(queue)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

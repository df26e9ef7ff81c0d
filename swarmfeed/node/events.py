"""In-process notifications for live views (Server-Sent Events in the web UI)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class PostAdded:
    """A post was stored: published here or received from a followed author."""

    post_id: str
    author: str
    seq: int


@dataclass(frozen=True)
class FollowChanged:
    """An author was followed or unfollowed, or its sync state changed."""

    author: str
    state: str


@dataclass(frozen=True)
class MediaComplete:
    """A media bundle finished downloading and is being seeded."""

    infohash: str


NodeEvent = PostAdded | FollowChanged | MediaComplete


class EventBus:
    """Fan-out of node events to any number of subscribers, each with a bounded queue."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queues: set[asyncio.Queue[NodeEvent | None]] = set()
        self._queue_size = queue_size
        self._closed = False

    def subscribe(self) -> asyncio.Queue[NodeEvent | None]:
        """Return a new queue that receives every event from now on; None means closed."""
        queue: asyncio.Queue[NodeEvent | None] = asyncio.Queue(self._queue_size + 1)
        if self._closed:
            queue.put_nowait(None)
        else:
            self._queues.add(queue)
        return queue

    def close(self) -> None:
        """Tell every subscriber the node is shutting down (each queue receives None)."""
        self._closed = True
        for queue in self._queues:
            queue.put_nowait(None)  # the extra slot keeps room for this even when full
        self._queues.clear()

    def unsubscribe(self, queue: asyncio.Queue[NodeEvent | None]) -> None:
        """Stop delivering events to ``queue``."""
        self._queues.discard(queue)

    def publish(self, event: NodeEvent) -> None:
        """Deliver ``event`` to every subscriber; a full queue drops its oldest event."""
        for queue in self._queues:
            if queue.qsize() >= self._queue_size:
                queue.get_nowait()
            queue.put_nowait(event)

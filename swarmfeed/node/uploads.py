"""Progress of posts being created, so clients can show a bar while media is hashed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class UploadProgress:
    """Where one post creation stands."""

    phase: str = "receiving"
    done: int = 0
    total: int = 0
    post_id: str | None = None
    error: str | None = None
    updated: float = field(default_factory=time.monotonic)


class UploadTracker:
    """Keeps the progress of recent post creations, keyed by a client-chosen id."""

    def __init__(self, keep: int = 256) -> None:
        self._items: dict[str, UploadProgress] = {}
        self._keep = keep

    def start(self, upload_id: str) -> UploadProgress:
        """Begin tracking ``upload_id``."""
        if len(self._items) >= self._keep:
            oldest = min(self._items, key=lambda key: self._items[key].updated)
            del self._items[oldest]
        progress = UploadProgress()
        self._items[upload_id] = progress
        return progress

    def get(self, upload_id: str) -> UploadProgress | None:
        """Return the progress of ``upload_id`` if known."""
        return self._items.get(upload_id)

    @staticmethod
    def hashing(progress: UploadProgress, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` pieces are hashed."""
        progress.phase = "hashing"
        progress.done = done
        progress.total = total
        progress.updated = time.monotonic()

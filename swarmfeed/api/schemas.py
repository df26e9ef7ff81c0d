"""JSON shapes only the API has: request bodies and upload progress.

What the API shares with the web pages (posts, follows, status) is in node/views.py.
"""

from __future__ import annotations

from pydantic import BaseModel


class FollowIn(BaseModel):
    """The author to follow: a BEP 46 magnet link or 64 hex digits."""

    author: str


class UploadOut(BaseModel):
    """Progress of a post being created."""

    phase: str
    done: int
    total: int
    post_id: str | None
    error: str | None

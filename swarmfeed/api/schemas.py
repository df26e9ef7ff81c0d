"""JSON shapes only the API has: request bodies, upload progress and import results.

What the API shares with the web pages (posts, follows, status) is in node/views.py.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from swarmfeed.core.followfile import FollowKind

MAX_IMPORT_ENTRIES = 1000
"""Entries of one import request (the CLI sends a long list in several)."""


class FollowIn(BaseModel):
    """The author to follow: a BEP 46 magnet link or 64 hex digits."""

    author: str = Field(max_length=1024)


class ImportEntry(BaseModel):
    """One author of a follow list being imported."""

    author: str = Field(max_length=1024)
    kind: FollowKind = FollowKind.FOLLOW


class ImportIn(BaseModel):
    """Authors to follow or mirror."""

    entries: list[ImportEntry] = Field(max_length=MAX_IMPORT_ENTRIES)


class ImportRefusal(BaseModel):
    """An entry that was not followed, and why (``index``: its position, -1 for the node's
    own author)."""

    index: int
    author: str
    reason: str


class ImportOut(BaseModel):
    """What an import changed."""

    added: int
    changed: int
    """Already followed, now with the kind the list gives."""
    unchanged: int
    refused: list[ImportRefusal]


class UploadOut(BaseModel):
    """Progress of a post being created."""

    phase: str
    done: int
    total: int
    post_id: str | None
    error: str | None

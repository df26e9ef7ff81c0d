"""GET /api/timeline and GET /api/authors/{key}/posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from swarmfeed.core.identity import parse_author
from swarmfeed.http.deps import NodeDep
from swarmfeed.node.views import TimelineView, parse_cursor, timeline_view

router = APIRouter(prefix="/api", tags=["timeline"])

Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/timeline")
async def get_timeline(node: NodeDep, limit: Limit = 50, before: str | None = None) -> TimelineView:
    """Return own and followed posts, newest first; page with ``before=<next_before>``."""
    return timeline_view(node, node.timeline(limit, parse_cursor(before)), limit)


@router.get("/authors/{key}/posts")
async def get_author_posts(
    node: NodeDep, key: str, limit: Limit = 50, before: str | None = None
) -> TimelineView:
    """Return the stored posts of one author (address or hex key), newest first."""
    author = parse_author(key).hex()
    return timeline_view(node, node.author_posts(author, limit, parse_cursor(before)), limit)

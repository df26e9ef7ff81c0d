"""/api/mirrors: authors whose whole history this node keeps (every page and bundle)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from swarmfeed.api.routers.follows import follow_with
from swarmfeed.api.schemas import FollowIn
from swarmfeed.core.followfile import FollowKind
from swarmfeed.core.identity import parse_author
from swarmfeed.errors import NotFound
from swarmfeed.http.deps import NodeDep
from swarmfeed.node.views import FollowView, follow_view

router = APIRouter(prefix="/api/mirrors", tags=["mirrors"])


@router.get("")
async def list_mirrors(node: NodeDep) -> list[FollowView]:
    """Return every mirrored author with its sync state."""
    return [follow_view(node, row) for row in node.follows() if row.kind == FollowKind.MIRROR]


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_mirror(node: NodeDep, body: FollowIn, response: Response) -> FollowView:
    """Mirror an author: like a follow, but every page and bundle, newest first, never evicted.

    An author already followed becomes a mirror (200); its skipped and evicted media is fetched.
    """
    return follow_with(node, body, FollowKind.MIRROR, response)


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_mirror(node: NodeDep, key: str) -> Response:
    """Stop mirroring an author: it stays followed, its media held to the budgets again.

    To drop the author entirely, unfollow it (``DELETE /api/follows/{key}``).
    """
    author = parse_author(key)
    if node.db.follows.kind(author.hex()) != FollowKind.MIRROR:
        raise NotFound(f"not mirroring {author.hex()}")
    node.follow(author, FollowKind.FOLLOW)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

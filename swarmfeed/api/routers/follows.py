"""POST/GET /api/follows and DELETE /api/follows/{key}."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from swarmfeed.api.schemas import FollowIn
from swarmfeed.core.identity import parse_author
from swarmfeed.errors import NotFound
from swarmfeed.http.deps import NodeDep
from swarmfeed.node.views import FollowView, find_follow, follow_view

router = APIRouter(prefix="/api/follows", tags=["follows"])


@router.get("")
async def list_follows(node: NodeDep) -> list[FollowView]:
    """Return every followed author with its last seen seq and sync state."""
    return [follow_view(node, row) for row in node.follows()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_follow(node: NodeDep, body: FollowIn, response: Response) -> FollowView:
    """Follow an author by BEP 46 address or hex key; its feed is fetched and seeded."""
    author = parse_author(body.author)
    if not node.follow(author):
        response.status_code = status.HTTP_200_OK
    found = find_follow(node, author.hex())
    if found is None:
        raise NotFound(f"not following {author.hex()}")
    return found


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_follow(node: NodeDep, key: str) -> Response:
    """Unfollow an author and stop seeding its torrents."""
    await node.unfollow(parse_author(key))
    return Response(status_code=status.HTTP_204_NO_CONTENT)

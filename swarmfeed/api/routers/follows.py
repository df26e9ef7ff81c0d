"""/api/follows: follow, unfollow, list; import and export a follow list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import PlainTextResponse

from swarmfeed.api.schemas import FollowIn, ImportIn, ImportOut, ImportRefusal
from swarmfeed.core.followfile import FollowKind, ListEntry, ListFormat, format_follow_list
from swarmfeed.core.identity import parse_author
from swarmfeed.errors import InvalidInput, NotFound
from swarmfeed.http.deps import NodeDep
from swarmfeed.node.views import FollowView, find_follow, follow_view

router = APIRouter(prefix="/api/follows", tags=["follows"])


@router.get("")
async def list_follows(node: NodeDep) -> list[FollowView]:
    """Return every followed author with its kind, last seen seq and sync state."""
    return [follow_view(node, row) for row in node.follows()]


def follow_with(node: NodeDep, body: FollowIn, kind: FollowKind, response: Response) -> FollowView:
    """Follow ``body.author`` as ``kind``; 200 instead of 201 when it was followed already."""
    author = parse_author(body.author)
    if kind is FollowKind.FOLLOW and node.db.follows.kind(author.hex()) == FollowKind.MIRROR:
        kind = FollowKind.MIRROR  # following a mirrored author keeps the mirror
    if not node.follow(author, kind):
        response.status_code = status.HTTP_200_OK
    found = find_follow(node, author.hex())
    if found is None:
        raise NotFound(f"not following {author.hex()}")
    return found


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_follow(node: NodeDep, body: FollowIn, response: Response) -> FollowView:
    """Follow an author by BEP 46 address or hex key; its feed is fetched and seeded.

    A mirrored author stays mirrored (``DELETE /api/mirrors/{key}`` makes it a plain follow).
    """
    return follow_with(node, body, FollowKind.FOLLOW, response)


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_follow(node: NodeDep, key: str) -> Response:
    """Unfollow an author (followed or mirrored) and stop seeding its torrents."""
    await node.unfollow(parse_author(key))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/import")
async def import_follows(node: NodeDep, body: ImportIn) -> ImportOut:
    """Follow or mirror each listed author (at most 1,000 per request).

    Entries that are not an author address are refused one by one (by position); the rest are
    followed. The CLI reads a list file, reports its bad lines by number and sends the rest.
    """
    entries: list[ListEntry] = []
    refused: list[ImportRefusal] = []
    for index, item in enumerate(body.entries):
        try:
            entries.append(ListEntry(parse_author(item.author).hex(), item.kind))
        except InvalidInput as exc:
            refused.append(ImportRefusal(index=index, author=item.author[:200], reason=str(exc)))
    report = node.import_follows(entries)
    refused += [
        ImportRefusal(index=-1, author=author, reason=reason) for author, reason in report.refused
    ]
    return ImportOut(
        added=len(report.added),
        changed=len(report.changed),
        unchanged=len(report.unchanged),
        refused=refused,
    )


@router.get("/export", response_class=PlainTextResponse)
async def export_follows(
    node: NodeDep, fmt: Annotated[ListFormat, Query(alias="format")] = ListFormat.LINES
) -> PlainTextResponse:
    """Return the follow list as a file: one address and kind per line, or JSON."""
    media = "application/json" if fmt is ListFormat.JSON else "text/plain"
    return PlainTextResponse(format_follow_list(node.follow_entries(), fmt), media_type=media)

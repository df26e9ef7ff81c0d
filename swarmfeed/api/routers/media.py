"""GET /api/media/{infohash}/{path}: a media file with HTTP Range, streamed from the swarm."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import StreamingResponse

from swarmfeed.api.deps import NodeDep
from swarmfeed.errors import InvalidInput

router = APIRouter(prefix="/api/media", tags=["media"])

CHUNK = 256 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the [start, end) byte span of a single-range ``Range`` header (RFC 9110 §14)."""
    if header is None:
        return None
    match = RANGE.match(header.strip())
    if match is None:
        raise InvalidInput(f"unsupported Range header {header!r}")
    first, last = match.groups()
    if first == "" and last == "":
        raise InvalidInput("empty Range header")
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise _Unsatisfiable(size)
    return start, end


class _Unsatisfiable(InvalidInput):
    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable for a file of {size} bytes")
        self.size = size


@router.get("/{infohash}/{path:path}")
async def get_media(
    node: NodeDep,
    infohash: str,
    path: str,
    range_header: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """Serve a media file; pieces not yet downloaded are fetched first (piece deadlines)."""
    entry = await node.media_file(infohash, path)
    post = node.db.posts.by_media(infohash.lower())
    mime = "application/octet-stream"
    if post is not None and post.signed.post.media is not None:
        for media_file in post.signed.post.media.files:
            if media_file.path == path:
                mime = media_file.mime
    try:
        span = parse_range(range_header, entry.size)
    except _Unsatisfiable as exc:
        return Response(
            status_code=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
            headers={"Content-Range": f"bytes */{exc.size}"},
        )
    start, end = span if span else (0, entry.size)
    ih = infohash.lower()

    async def body() -> AsyncIterator[bytes]:
        offset = start
        while offset < end:
            stop = min(end, offset + CHUNK)
            await node.engine.wait_range(ih, entry.index, offset, stop)
            with entry.absolute_path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(stop - offset)
            if not data:
                return
            yield data
            offset += len(data)

    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(end - start),
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    if span:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
    code = status.HTTP_206_PARTIAL_CONTENT if span else status.HTTP_200_OK
    return StreamingResponse(body(), status_code=code, headers=headers, media_type=mime)

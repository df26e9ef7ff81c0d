"""GET /api/media/{infohash}/{path}: a media file with HTTP Range, streamed from the swarm.

POST /api/media/{infohash}/fetch: fetch media the node did not fetch on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.types import Send

from swarmfeed.engine.types import FileEntry
from swarmfeed.errors import NotFound, NotReady, SwarmfeedError
from swarmfeed.http.deps import NodeDep
from swarmfeed.http.headers import parse_range, safe_content_type
from swarmfeed.node.node import Node

router = APIRouter(prefix="/api/media", tags=["media"])
log = logging.getLogger("swarmfeed.api")

CHUNK = 256 * 1024
# How long one chunk may take to arrive from the swarm before the request gives up (504 when
# nothing was sent yet); a piece that fails its hash check ends it at once (502).
CHUNK_WAIT_SECONDS = 60.0


class MediaResponse(StreamingResponse):
    """A streamed file that, when the swarm fails mid-way, ends the connection early.

    Once the status line and Content-Length are sent, an error can no longer be a status
    code; the connection is closed so the client sees a short body, not a hang or a lie.
    """

    async def stream_response(self, send: Send) -> None:
        """Send the headers, then each chunk; stop without completing on a swarm failure."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except SwarmfeedError as exc:
            log.warning("stopped streaming media: %s", exc)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(size)


async def read_span(node: Node, infohash: str, entry: FileEntry, start: int, stop: int) -> bytes:
    """Fetch bytes [start, stop) of a media file from the swarm first, then read them."""
    try:
        await node.engine.wait_range(infohash, entry.index, start, stop, CHUNK_WAIT_SECONDS)
    except TimeoutError:
        raise NotReady(
            f"the swarm did not deliver bytes {start}-{stop - 1} of {entry.path} within "
            f"{CHUNK_WAIT_SECONDS:.0f} s; try again later"
        ) from None
    try:
        data = await asyncio.to_thread(_read, entry.absolute_path, start, stop - start)
    except OSError as exc:
        raise NotFound(f"media file {entry.path} is not readable: {exc.strerror}") from exc
    if len(data) != stop - start:
        raise NotReady(f"media file {entry.path} is shorter on disk than its torrent says")
    return data


def signed_mime(node: Node, infohash: str, path: str) -> str | None:
    """Return the MIME type the post's author signed for a media file, if the post is held."""
    post = node.db.posts.by_media(infohash)
    media = post.signed.post.media if post is not None else None
    if media is None:
        return None
    return next((f.mime for f in media.files if f.path == path), None)


class FetchOut(BaseModel):
    """Where a fetch asked for stands."""

    infohash: str
    fetch: str
    """The media's fetch state now: ``queued`` (waiting for a slot), ``fetching``, ``complete``."""


@router.post("/{infohash}/fetch", status_code=status.HTTP_202_ACCEPTED)
async def fetch_media(node: NodeDep, infohash: str) -> FetchOut:
    """Fetch a post's media now: media over the automatic limits waits for this (or an open).

    Nothing is sent back but the state; the progress shows in ``GET /api/posts/{id}``.
    """
    infohash = infohash.lower()
    node.fetch_media(infohash)
    row = node.db.media.get(infohash)
    return FetchOut(infohash=infohash, fetch=row.state.value if row else "unknown")


@router.get("/{infohash}/{path:path}")
async def get_media(
    node: NodeDep,
    infohash: str,
    path: str,
    range_header: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """Serve a media file; pieces not yet downloaded are fetched first (piece deadlines).

    The first chunk is fetched before the status line, so a range the swarm cannot deliver
    is answered with 502 (a piece failed its hash check) or 504 (nothing arrived in time).
    """
    infohash = infohash.lower()
    entry = await node.media_file(infohash, path)
    mime = safe_content_type(signed_mime(node, infohash, path))
    span = parse_range(range_header, entry.size)
    start, end = span if span else (0, entry.size)
    first = await read_span(node, infohash, entry, start, min(end, start + CHUNK))

    async def body() -> AsyncIterator[bytes]:
        yield first
        offset = start + len(first)
        while offset < end:
            stop = min(end, offset + CHUNK)
            yield await read_span(node, infohash, entry, offset, stop)
            offset = stop

    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(end - start),
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    if span:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
    code = status.HTTP_206_PARTIAL_CONTENT if span else status.HTTP_200_OK
    return MediaResponse(body(), status_code=code, headers=headers, media_type=mime)

"""POST /api/posts, GET /api/posts/{id}, GET /api/uploads/{id}."""

from __future__ import annotations

import shutil
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status

from swarmfeed.api.deps import NodeDep, UploadsDep
from swarmfeed.api.schemas import PostOut, UploadOut, post_out
from swarmfeed.errors import InvalidInput, NotFound, TooLarge
from swarmfeed.node.publisher import Upload
from swarmfeed.node.uploads import UploadTracker

router = APIRouter(prefix="/api", tags=["posts"])

CHUNK = 1024 * 1024


@router.post("/posts", status_code=status.HTTP_201_CREATED)
async def create_post(
    request: Request,
    node: NodeDep,
    uploads: UploadsDep,
    text: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
    upload_id: Annotated[str | None, Form()] = None,
) -> PostOut:
    """Sign and publish a post with optional media files (multipart ``text`` and ``files``).

    Pass a client-chosen ``upload_id`` to follow hashing progress at /api/uploads/{upload_id}.
    """
    limit = node.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + CHUNK:
        raise TooLarge(f"upload of {int(declared)} bytes is over the {limit}-byte limit")
    files = [f for f in files or [] if f.filename]
    if not text.strip() and not files:
        raise InvalidInput("a post needs text or at least one file")
    progress = uploads.start(upload_id or uuid.uuid4().hex)
    staging = node.shelf.new_staging_dir()
    try:
        staged: list[Upload] = []
        received = 0
        for index, upload in enumerate(files):
            target = staging / f"upload-{index}"
            with target.open("wb") as out:
                while chunk := await upload.read(CHUNK):
                    received += len(chunk)
                    if received > limit:
                        raise TooLarge(f"upload is over the {limit}-byte limit")
                    out.write(chunk)
            staged.append(Upload(target, upload.filename or f"file-{index}", upload.content_type))
        progress.total = received

        def on_hash(done: int, total: int) -> None:
            UploadTracker.hashing(progress, done, total)

        signed = await node.create_post(text, staged, on_hash)
    except Exception as exc:
        progress.phase, progress.error = "failed", str(exc)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress.phase, progress.post_id = "done", signed.id
    return post_out(node, node.post(signed.id))


@router.get("/posts/{post_id}")
async def get_post(node: NodeDep, post_id: str) -> PostOut:
    """Return a post, its verification result and per-media progress and seeding state."""
    return post_out(node, node.post(post_id))


@router.get("/uploads/{upload_id}")
async def get_upload(uploads: UploadsDep, upload_id: str) -> UploadOut:
    """Return the progress of a post being created (receiving, hashing, done, failed)."""
    progress = uploads.get(upload_id)
    if progress is None:
        raise NotFound(f"no upload {upload_id}")
    return UploadOut(
        phase=progress.phase,
        done=progress.done,
        total=progress.total,
        post_id=progress.post_id,
        error=progress.error,
    )

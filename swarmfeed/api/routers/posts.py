"""POST /api/posts, GET /api/posts/{id}, GET /api/uploads/{id}."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from swarmfeed.api.schemas import UploadOut
from swarmfeed.errors import NotFound
from swarmfeed.http.deps import ComposerDep, NodeDep
from swarmfeed.http.uploads import receive_post
from swarmfeed.node.views import PostView, post_view

router = APIRouter(prefix="/api", tags=["posts"])

# The form this route reads by streaming (FastAPI does not parse it; see http/multipart.py).
_POST_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "upload_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                        "reply_to": {"type": "string", "description": "id of the post replied to"},
                        "repost_of": {"type": "string", "description": "id of the post reposted"},
                    },
                }
            }
        },
    }
}


@router.post("/posts", status_code=status.HTTP_201_CREATED, openapi_extra=_POST_FORM)
async def create_post(request: Request, node: NodeDep, composer: ComposerDep) -> PostView:
    """Sign and publish a post with optional media files (multipart ``text`` and ``files``).

    Pass a client-chosen ``upload_id`` to follow hashing progress at /api/uploads/{upload_id}.
    """
    return post_view(node, await receive_post(request, composer))


@router.get("/posts/{post_id}")
async def get_post(node: NodeDep, post_id: str) -> PostView:
    """Return a post, its verification result and per-media progress and seeding state."""
    return post_view(node, node.post(post_id))


@router.get("/uploads/{upload_id}")
async def get_upload(composer: ComposerDep, upload_id: str) -> UploadOut:
    """Return the progress of a post being created (receiving, hashing, done, failed)."""
    progress = composer.uploads.get(upload_id)
    if progress is None:
        raise NotFound(f"no upload {upload_id}")
    return UploadOut(
        phase=progress.phase,
        done=progress.done,
        total=progress.total,
        post_id=progress.post_id,
        error=progress.error,
    )

"""Likes, deletes, threads, notifications, profiles and blocks (protocol.md §3.2, §10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from swarmfeed.core.identity import parse_author
from swarmfeed.http.deps import ComposerDep, NodeDep
from swarmfeed.http.uploads import receive_form
from swarmfeed.node.publisher import Upload
from swarmfeed.node.socialviews import (
    BlockView,
    NotificationsView,
    ProfileView,
    ThreadView,
    block_view,
    notifications_view,
    profile_view,
    thread_view,
)
from swarmfeed.node.uploads import UploadProgress

router = APIRouter(prefix="/api", tags=["social"])


class EntryOut(BaseModel):
    """The log entry an action published, and the post it concerns."""

    post_id: str
    entry_id: str
    seq: int


class BlockIn(BaseModel):
    """An author to block (nothing fetched, seeded or shown) or mute (hidden)."""

    author: str = Field(max_length=1024)
    kind: str = Field(default="block", pattern="^(block|mute)$")


class ReadIn(BaseModel):
    """Mark notifications up to ``up_to`` (all when absent) read."""

    up_to: int | None = None


@router.post("/posts/{post_id}/like", status_code=status.HTTP_201_CREATED)
async def like_post(node: NodeDep, post_id: str) -> EntryOut:
    """Like another author's post: a like sealed to its author (only they can read it)."""
    entry = await node.social.like(post_id)
    return EntryOut(post_id=post_id.lower(), entry_id=entry.id, seq=entry.post.seq)


@router.delete("/posts/{post_id}")
async def delete_post(node: NodeDep, post_id: str) -> EntryOut:
    """Delete one of our posts (a tombstone in our log), or unlike a post we liked."""
    entry = await node.social.delete(post_id)
    return EntryOut(post_id=post_id.lower(), entry_id=entry.id, seq=entry.post.seq)


@router.get("/posts/{post_id}/thread")
async def get_thread(node: NodeDep, post_id: str) -> ThreadView:
    """Return a post with the ancestors and the replies this node holds."""
    return thread_view(node, node.social.thread(post_id))


@router.get("/notifications")
async def list_notifications(
    node: NodeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=0)] = None,
) -> NotificationsView:
    """Return replies, reposts, mentions and likes of our posts, newest first."""
    return notifications_view(node, node.social.notifications(limit, before))


@router.post("/notifications/read")
async def read_notifications(node: NodeDep, body: ReadIn) -> NotificationsView:
    """Mark notifications read; return the newest page."""
    node.social.mark_read(body.up_to)
    return notifications_view(node, node.social.notifications(50))


@router.put("/profile")
async def put_profile(request: Request, node: NodeDep, composer: ComposerDep) -> ProfileView:
    """Publish our profile (multipart: name, bio, links one a line, pay_kind, pay_address,
    optional ``avatar`` image file)."""

    async def publish(
        fields: dict[str, str], uploads: list[Upload], _progress: UploadProgress
    ) -> ProfileView:
        await node.social.set_profile_from_form(fields, uploads)
        return profile_view(node, node.author)

    return await receive_form(request, composer, publish)


@router.get("/profiles/{author}")
async def get_profile(node: NodeDep, author: str) -> ProfileView:
    """Return an author's newest profile (name, bio, links, payment address, avatar)."""
    return profile_view(node, parse_author(author).hex())


@router.get("/blocks")
async def list_blocks(node: NodeDep) -> list[BlockView]:
    """Return every blocked or muted author."""
    return [block_view(row) for row in node.social.blocks()]


@router.post("/blocks", status_code=status.HTTP_201_CREATED)
async def add_block(node: NodeDep, body: BlockIn) -> BlockView:
    """Block or mute an author; blocking unfollows it and drops what is held of it."""
    author = parse_author(body.author).hex()
    await node.social.block(author, body.kind)
    return next(block_view(r) for r in node.social.blocks() if r.author == author)


@router.delete("/blocks/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_block(node: NodeDep, key: str) -> Response:
    """Neither block nor mute an author any more."""
    node.social.unblock(parse_author(key).hex())
    return Response(status_code=status.HTTP_204_NO_CONTENT)

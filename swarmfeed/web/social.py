"""Social pages and forms: thread, reply, repost, quote, like, delete, notifications, profile,
block and mute. Each form works without JavaScript and goes back where it came from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from swarmfeed.core.identity import parse_author
from swarmfeed.http.deps import ComposerDep, NodeDep
from swarmfeed.http.headers import safe_local_path
from swarmfeed.http.uploads import receive_form
from swarmfeed.node.publisher import Upload
from swarmfeed.node.socialviews import notifications_view, profile_view, thread_view
from swarmfeed.node.uploads import UploadProgress
from swarmfeed.node.views import post_view
from swarmfeed.web.pages import TemplatesDep, page

router = APIRouter(include_in_schema=False)

Next = Annotated[str | None, Form(alias="next")]


@router.get("/posts/{post_id}", response_class=HTMLResponse)
async def post_page(
    request: Request, node: NodeDep, templates: TemplatesDep, post_id: str, quote: int = 0
) -> HTMLResponse:
    """Show one post with its thread (ancestors above, replies below) and a reply box."""
    thread = thread_view(node, node.social.thread(post_id))
    return page(
        templates,
        request,
        node,
        "post.html",
        nav="",
        post=thread.post,
        ancestors=thread.ancestors,
        replies=thread.replies,
        quoting=bool(quote),
    )


@router.post("/posts/{post_id}/repost")
async def repost_submit(node: NodeDep, post_id: str, next_page: Next = None) -> Response:
    """Repost a post (no text of our own), then go back."""
    await node.social.post("", repost_of=post_id)
    return RedirectResponse(safe_local_path(next_page, "/"), status_code=303)


@router.post("/posts/{post_id}/like")
async def like_submit(node: NodeDep, post_id: str, next_page: Next = None) -> Response:
    """Like a post (sealed to its author), or unlike it when liked already, then go back."""
    if node.db.likes.own(post_id.lower()) is not None:
        await node.social.delete(post_id)
    else:
        await node.social.like(post_id)
    return RedirectResponse(safe_local_path(next_page, "/"), status_code=303)


@router.post("/posts/{post_id}/delete")
async def delete_submit(node: NodeDep, post_id: str, next_page: Next = None) -> Response:
    """Delete one of our posts, then go back."""
    await node.social.delete(post_id)
    return RedirectResponse(safe_local_path(next_page, "/"), status_code=303)


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(
    request: Request, node: NodeDep, templates: TemplatesDep
) -> HTMLResponse:
    """List replies, reposts, mentions and likes of our posts; seeing them marks them read."""
    shown = notifications_view(node, node.social.notifications(100))
    items = []
    for item in shown.notifications:
        target = node.db.find_post(item.entry_id or item.post_id) if item.entry_id else None
        items.append((item, post_view(node, target) if target else None))
    response = page(
        templates,
        request,
        node,
        "notifications.html",
        nav="notifications",
        items=items,
        unread_here=shown.unread,
    )
    node.social.mark_read(shown.notifications[0].id if shown.notifications else None)
    return response


@router.get("/profile", response_class=HTMLResponse)
async def profile_page(
    request: Request, node: NodeDep, templates: TemplatesDep, error: str | None = None
) -> HTMLResponse:
    """Show the profile editor."""
    profile = profile_view(node, node.author)
    return page(templates, request, node, "profile.html", nav="me", profile=profile, error=error)


@router.post("/profile")
async def profile_submit(request: Request, node: NodeDep, composer: ComposerDep) -> Response:
    """Publish the profile from the editor (multipart, avatar optional)."""

    async def publish(fields: dict[str, str], uploads: list[Upload], _p: UploadProgress) -> None:
        await node.social.set_profile_from_form(fields, uploads)

    await receive_form(request, composer, publish)
    return RedirectResponse(f"/authors/{node.author}", status_code=303)


@router.post("/authors/{key}/block")
async def block_submit(
    node: NodeDep, key: str, kind: Annotated[str, Form()] = "block", next_page: Next = None
) -> Response:
    """Block or mute an author (``kind``), or lift it (``kind`` = ``none``), then go back."""
    author = parse_author(key).hex()
    if kind == "none":
        node.social.unblock(author)
    else:
        await node.social.block(author, kind)
    return RedirectResponse(safe_local_path(next_page, f"/authors/{author}"), status_code=303)

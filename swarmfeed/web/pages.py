"""Server-rendered pages: timeline, author, post, compose, following, swarm (issue 3)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from swarmfeed.core import kinds
from swarmfeed.core.identity import author_address, parse_author
from swarmfeed.errors import InvalidInput, NotFound
from swarmfeed.http.deps import ComposerDep, NodeDep
from swarmfeed.http.headers import safe_local_path
from swarmfeed.http.uploads import receive_post
from swarmfeed.node.listing import MAX_LIMIT
from swarmfeed.node.socialviews import profile_view
from swarmfeed.node.torrentviews import torrent_views
from swarmfeed.node.views import (
    find_follow,
    follow_view,
    parse_cursor,
    post_view,
    status_view,
    storage_view,
    timeline_view,
)
from swarmfeed.web import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30
SWARM_PAGE_SIZE = 100
"""Torrents the Swarm page shows at once (``?per=`` asks for another number)."""
MAX_SWARM_PAGE = 1_000_000


@dataclass(frozen=True)
class SwarmPager:
    """Where the Swarm page's rows sit in the whole listing."""

    page: int
    pages: int
    per: int
    offset: int
    total: int

    @property
    def shown(self) -> tuple[int, int]:
        """Return the first and last row shown, counted from 1 (0, 0 when there are none)."""
        return (self.offset + 1, min(self.total, self.offset + self.per)) if self.total else (0, 0)

    def href(self, page: int) -> str:
        """Return the link to ``page`` of the listing at this page size."""
        per = f"&per={self.per}" if self.per != SWARM_PAGE_SIZE else ""
        return f"/swarm?page={page}{per}"


def get_templates(request: Request) -> Jinja2Templates:
    """Return the page templates installed on the app."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]


def page(
    templates: Jinja2Templates,
    request: Request,
    node: NodeDep,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with what every page shows (nav, node status, CSRF token)."""
    node_status = status_view(node.status())
    return templates.TemplateResponse(
        request,
        template,
        {
            "node": node_status,
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "max_upload_bytes": node.settings.max_upload_bytes,
            "unread": node.db.notifications.unread(),
            "own_author": node.author,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/", response_class=HTMLResponse)
async def timeline_page(
    request: Request, node: NodeDep, templates: TemplatesDep, before: str | None = None
) -> HTMLResponse:
    """Show own and followed posts, newest first, updating live."""
    listing = timeline_view(node, node.timeline(PAGE_SIZE, parse_cursor(before)), PAGE_SIZE)
    return page(
        templates,
        request,
        node,
        "timeline.html",
        nav="timeline",
        posts=listing.posts,
        next_before=listing.next_before,
        live="*",
        following=len(node.db.follows.authors()),
    )


@router.get("/authors/{key}", response_class=HTMLResponse)
async def author_page(
    request: Request, node: NodeDep, templates: TemplatesDep, key: str, before: str | None = None
) -> HTMLResponse:
    """Show an author: profile, address with copy button and QR code, follow button, posts."""
    public_key = parse_author(key)
    author = public_key.hex()
    listing = timeline_view(
        node, node.author_posts(author, PAGE_SIZE, parse_cursor(before)), PAGE_SIZE
    )
    profile = node.db.feeds.profile(author)
    follow = find_follow(node, author)
    address = author_address(public_key)
    social = profile_view(node, author)
    return page(
        templates,
        request,
        node,
        "author.html",
        nav="me" if author == node.author else "",
        author=author,
        address=address,
        name=profile[0] if profile and profile[0] else None,
        bio=profile[1] if profile and profile[1] else None,
        qr=render.qr_svg(address),
        social=social,
        pay_qr=render.qr_svg(social.pay.address) if social.pay else None,
        is_self=author == node.author,
        follow=follow,
        posts=listing.posts,
        next_before=listing.next_before,
        live=author,
    )


@router.get("/fragments/posts/{post_id}", response_class=HTMLResponse)
async def post_fragment(
    request: Request, node: NodeDep, templates: TemplatesDep, post_id: str
) -> Response:
    """Return one post card, for live pages to insert when a post event arrives.

    Entries that only act on other data (likes, deletes, profiles), deleted posts and posts of
    muted or blocked authors get 204: nothing to insert.
    """
    shown = post_view(node, node.post(post_id))
    listed = shown.unsupported is not None or shown.kind in kinds.SHOWN_KINDS
    if not listed or shown.deleted or node.db.blocks.kind(shown.author) is not None:
        return Response(status_code=204)
    return page(templates, request, node, "fragment_post.html", post=shown)


@router.get("/compose", response_class=HTMLResponse)
async def compose_page(
    request: Request, node: NodeDep, templates: TemplatesDep, error: str | None = None
) -> HTMLResponse:
    """Show the form for a new post with media."""
    return page(templates, request, node, "compose.html", nav="compose", error=error)


@router.post("/compose")
async def compose_submit(request: Request, composer: ComposerDep) -> Response:
    """Publish from the plain form (without JavaScript) and go to the new post."""
    created = await receive_post(request, composer)
    return RedirectResponse(f"/posts/{created.id}", status_code=303)


@router.get("/following", response_class=HTMLResponse)
async def following_page(
    request: Request, node: NodeDep, templates: TemplatesDep, error: str | None = None
) -> HTMLResponse:
    """List followed authors with their sync state, and a form to follow another."""
    follows = [follow_view(node, row) for row in node.follows()]
    return page(
        templates,
        request,
        node,
        "following.html",
        nav="following",
        follows=follows,
        storage=storage_view(node),
        error=error,
    )


@router.post("/following")
async def follow_submit(
    request: Request,
    node: NodeDep,
    templates: TemplatesDep,
    author: Annotated[str, Form()] = "",
    next_page: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    """Follow an author given by address or hex key, then go back (``next``) or to the list."""
    try:
        key = parse_author(author)
        if node.db.follows.kind(key.hex()) is None:  # a mirrored author stays mirrored
            node.follow(key)
    except InvalidInput as exc:
        follows = [follow_view(node, row) for row in node.follows()]
        return page(
            templates,
            request,
            node,
            "following.html",
            status_code=400,
            nav="following",
            follows=follows,
            storage=storage_view(node),
            error=str(exc),
            entered=author,
        )
    return RedirectResponse(safe_local_path(next_page, "/following"), status_code=303)


@router.post("/following/{key}/delete")
async def unfollow_submit(
    node: NodeDep, key: str, next_page: Annotated[str | None, Form(alias="next")] = None
) -> Response:
    """Unfollow an author, then go back (``next``, e.g. the author's page) or to the list."""
    with contextlib.suppress(NotFound):  # already gone: the list shows the truth
        await node.unfollow(parse_author(key))
    return RedirectResponse(safe_local_path(next_page, "/following"), status_code=303)


@router.post("/media/{infohash}/fetch")
async def fetch_submit(
    node: NodeDep, infohash: str, next_page: Annotated[str | None, Form(alias="next")] = None
) -> Response:
    """Fetch media the node did not fetch on its own, then go back to the page (``next``)."""
    node.fetch_media(infohash)
    return RedirectResponse(safe_local_path(next_page, "/"), status_code=303)


@router.get("/swarm", response_class=HTMLResponse)
async def swarm_page(
    request: Request,
    node: NodeDep,
    templates: TemplatesDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=MAX_SWARM_PAGE)] = 1,
    per: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = SWARM_PAGE_SIZE,
) -> HTMLResponse:
    """Show one page of what this node seeds and downloads: peers, rates, bytes served."""
    listing = node.torrent_listing(limit=per, offset=(page_number - 1) * per)
    pages = max(1, -(-listing.total // per))
    if page_number > pages:  # past the end (torrents went): show the last page
        page_number = pages
        listing = node.torrent_listing(limit=per, offset=(pages - 1) * per)
    offset = (page_number - 1) * per
    return page(
        templates,
        request,
        node,
        "swarm.html",
        nav="swarm",
        torrents=torrent_views(node, listing.entries),
        pager=SwarmPager(
            page=page_number, pages=pages, per=per, offset=offset, total=listing.total
        ),
    )

"""The web UI: server-rendered pages and static assets, from the node's view models."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from swarmfeed.core import units
from swarmfeed.core.identity import short_key
from swarmfeed.node.node import Node
from swarmfeed.node.views import status_view
from swarmfeed.web import render, social
from swarmfeed.web.pages import router

HERE = Path(__file__).parent
HUES = 12


def author_hue(author: str) -> int:
    """Return a stable colour index for an author key (one of HUES avatar colours)."""
    return int(author[:6], 16) % HUES if author[:6] else 0


def build_templates() -> Jinja2Templates:
    """Return the Jinja2 environment with autoescaping and swarmfeed's filters."""
    templates = Jinja2Templates(directory=HERE / "templates")
    filters = templates.env.filters
    filters["bytes"] = units.format_size
    filters["rate"] = units.format_rate
    filters["plural"] = units.plural
    filters["state"] = units.format_state
    filters["time_ago"] = render.time_ago
    filters["iso_time"] = render.iso_time
    filters["short_key"] = short_key
    filters["linkify"] = render.linkify
    filters["media_kind"] = render.media_kind
    filters["hue"] = author_hue
    return templates


def install(app: FastAPI) -> None:
    """Add the pages and their assets to ``app``."""
    app.state.templates = build_templates()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(social.router)


def error_page(request: Request, code: int, title: str, message: str) -> HTMLResponse:
    """Render an error as a page for browsers."""
    templates: Jinja2Templates = request.app.state.templates
    node: Node = request.app.state.node
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "node": status_view(node.status()),
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "max_upload_bytes": node.settings.max_upload_bytes,
            "unread": 0,
            "own_author": node.author,
            "title": title,
            "message": message,
            "nav": "",
        },
        status_code=code,
        headers={"Cache-Control": "no-store"},
    )

"""Builds the FastAPI application around a running node."""

from __future__ import annotations

from fastapi import FastAPI

from swarmfeed import __version__, api, web
from swarmfeed.http.errors import install_error_handlers
from swarmfeed.http.limits import BodyLimitMiddleware, ClientSlots, HttpLimits
from swarmfeed.http.proxy import ForwardedHeaders
from swarmfeed.http.security import SecurityMiddleware
from swarmfeed.node.compose import Composer
from swarmfeed.node.metrics import node_registry
from swarmfeed.node.node import Node

# Routes that read their body as a stream with their own limits (http/uploads.py).
UPLOAD_ROUTES = (("POST", "/api/posts"), ("POST", "/compose"))


def create_app(node: Node, limits: HttpLimits | None = None) -> FastAPI:
    """Return the API and the web UI serving ``node``, behind the security middleware.

    The schema is at ``/openapi.json``; FastAPI's HTML docs (``/docs``, ``/redoc``) are off
    because they load scripts from a CDN into the origin that holds the access cookie
    (docs/architecture.md).
    """
    limits = limits or HttpLimits()
    app = FastAPI(
        title="swarmfeed",
        version=__version__,
        description="Signed feeds as torrents, found through the mainline DHT.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.node = node
    app.state.composer = Composer(node)
    app.state.metrics = node_registry(node, __version__)
    app.state.stream_slots = ClientSlots(limits.event_streams, limits.event_streams_per_client)
    api.install(app)
    web.install(app)
    install_error_handlers(app, web.error_page)
    app.add_middleware(BodyLimitMiddleware, streamed=UPLOAD_ROUTES)
    app.add_middleware(
        SecurityMiddleware,
        needs_token=lambda scope: node.web_token is not None,
        token=lambda scope: node.web_token,
    )
    # Outermost: the security checks see the client and host a trusted proxy forwarded.
    app.add_middleware(ForwardedHeaders, trusted=node.settings.trusted_proxies)
    return app

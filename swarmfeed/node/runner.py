"""Runs a node and its HTTP server in one asyncio loop until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import signal
import sys
from collections.abc import Callable, Iterator

import uvicorn

from swarmfeed.api.app import create_app
from swarmfeed.node.config import Settings
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.node import Node
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.runner")


def configure_logging(settings: Settings) -> None:
    """Log to stderr and to a rotating file in the node's home."""
    layout = HomeLayout(settings.home)
    layout.home.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    root.addHandler(console)
    file_handler = logging.handlers.RotatingFileHandler(
        layout.log_file, maxBytes=5 * 1024 * 1024, backupCount=3
    )
    file_handler.setFormatter(formatter)
    root.addHandler(file_handler)


class _Server(uvicorn.Server):
    """uvicorn's server without its signal capture: the node flushes before the process ends.

    uvicorn re-raises a captured SIGTERM when serve() returns, which would kill the process
    before resume data and the index are flushed; run_node handles the signals instead.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signal handling to run_node."""
        yield


async def run_node(node: Node, on_ready: Callable[[Node], None] | None = None) -> None:
    """Start ``node``, serve its API and web UI, and stop cleanly on SIGINT/SIGTERM."""
    settings = node.settings
    host, port = settings.http_endpoint
    app = create_app(node)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()

    def request_exit(signum: int) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        server.should_exit = True
        node.events.close()  # ends open event streams so the HTTP server can stop

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_exit, signum)
    token_file = node.layout.home / "web_token"
    await node.start()
    try:
        if node.web_token:
            atomic_write(token_file, node.web_token.encode(), mode=0o600)
        else:
            token_file.unlink(missing_ok=True)
        if on_ready is not None:
            on_ready(node)
        await server.serve()
    finally:
        log.info("shutting down: saving resume data and closing the index")
        await node.stop()

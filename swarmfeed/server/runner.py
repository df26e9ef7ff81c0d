"""Runs a node and its HTTP server in one asyncio loop until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from swarmfeed.errors import SwarmfeedError
from swarmfeed.http.limits import HttpLimits
from swarmfeed.node.node import Node
from swarmfeed.server.app import create_app
from swarmfeed.server.connections import guarded_protocol
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.runner")


class ListenError(SwarmfeedError):
    """The node could not bind one of its addresses."""


# Descriptors the rest of the process holds besides the engine's peers and files and the HTTP
# connections: the SQLite index (database, WAL, shared memory), the log file, our BEP 44
# socket, the listening HTTP socket, torrent creation reading an upload, atomic writes of
# resume data and heads, the event loop's own (epoll, self-pipe), with room to spare.
RESERVED_DESCRIPTORS = 128
# A request head (request line and headers) larger than this is refused (400, by h11).
MAX_REQUEST_HEAD_BYTES = 16 * 1024
# Connections the kernel queues for the HTTP server before it accepts them: they hold no
# descriptor of ours, and beyond this the kernel refuses new ones.
LISTEN_BACKLOG = 128


def descriptors_needed(engine_descriptors: int, limits: HttpLimits) -> int:
    """Return how many file descriptors the node may hold at once."""
    return engine_descriptors + limits.connections + RESERVED_DESCRIPTORS


def raise_descriptor_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE to ``needed`` (never above the hard limit, never lower it).

    Return the soft limit in force. Many systems start processes with a soft limit of 1024
    (macOS: 256) under a much higher hard limit; a node at its caps needs ``needed``.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        log.warning(
            "the open-file limit is %d (hard limit); a node at its caps may need %d: "
            "raise it (ulimit -Hn) or lower the HTTP connection cap",
            target,
            needed,
        )
    return target


class _Server(uvicorn.Server):
    """uvicorn's server without its signal capture: the node flushes before the process ends.

    uvicorn re-raises a captured SIGTERM when serve() returns, which would kill the process
    before resume data and the index are flushed; run_node handles the signals instead.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signal handling to run_node."""
        yield


def server_config(node: Node, limits: HttpLimits) -> uvicorn.Config:
    """Return uvicorn's settings for ``node``: capped connections, timeouts, our logging."""
    host, port = node.settings.http_endpoint
    return uvicorn.Config(
        create_app(node, limits),
        host=host,
        port=port,
        http=guarded_protocol(limits),
        ws="none",
        lifespan="off",
        log_level="warning",
        log_config=None,  # uvicorn's lines go through the node's log and its repeat filter
        access_log=False,
        # X-Forwarded-* are believed only from the configured proxies (http/proxy.py);
        # uvicorn's own handling would trust 127.0.0.1 by default.
        proxy_headers=False,
        # Requests in flight (handlers still running after their client left included).
        limit_concurrency=limits.connections + 1,
        backlog=LISTEN_BACKLOG,
        timeout_keep_alive=limits.keep_alive_seconds,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )


def log_tasks() -> None:
    """Log where every task of the node waits now (SIGUSR1: for a node that seems stuck)."""
    tasks = asyncio.all_tasks()
    lines: list[str] = []
    for task in tasks:
        where: list[str] = []
        awaited: Any = task.get_coro()
        while awaited is not None and len(where) < 40:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is None:
                where.append(type(awaited).__name__)
                break
            name = frame.f_code.co_filename.rsplit("/", 1)[-1]
            where.append(f"{frame.f_code.co_name} ({name}:{frame.f_lineno})")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        lines.append(f"{task.get_name()}: {' -> '.join(where) or '(done)'}")
    log.warning("SIGUSR1: %d tasks\n%s", len(tasks), "\n".join(sorted(lines)))


async def run_node(
    node: Node,
    on_ready: Callable[[Node], None] | None = None,
    limits: HttpLimits | None = None,
) -> None:
    """Start ``node``, serve its API and web UI, and stop cleanly on SIGINT/SIGTERM."""
    limits = limits or HttpLimits()
    needed = descriptors_needed(node.engine.descriptors_needed(), limits)
    soft = raise_descriptor_limit(needed)
    log.info("open-file limit %d (the node may need %d)", soft, needed)
    server = _Server(server_config(node, limits))
    loop = asyncio.get_running_loop()

    def request_exit(signum: int) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        server.should_exit = True
        node.events.close()  # ends open event streams so the HTTP server can stop

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_exit, signum)
    loop.add_signal_handler(signal.SIGUSR1, log_tasks)
    token_file = node.layout.home / "web_token"
    await node.start()
    try:
        if node.web_token:
            atomic_write(token_file, node.web_token.encode(), mode=0o600)
        else:
            token_file.unlink(missing_ok=True)
        if on_ready is not None:
            on_ready(node)
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn exits when it cannot bind its socket
            if server.started:
                raise
            host, port = node.settings.http_endpoint
            raise ListenError(
                f"cannot serve HTTP on {host}:{port} (in use, or not an address of this host)"
            ) from exc
    finally:
        log.info("shutting down: saving resume data and closing the index")
        await node.stop()

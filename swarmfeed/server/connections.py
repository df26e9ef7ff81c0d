"""uvicorn's h11 protocol with a cap on connections (in all and per client) and a head timeout.

uvicorn's ``limit_concurrency`` answers 503 only once a request arrives, after the connection
has taken a file descriptor, and its keep-alive timer starts only after a first response: a
client that opens connections and sends nothing (or a request head one byte at a time) holds
them forever. Here a connection over the caps is answered 503 and closed at once, and one that
does not complete a request head within ``request_head_seconds`` is closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from swarmfeed.http.limits import ClientSlots, HttpLimits

log = logging.getLogger("swarmfeed.http")

_BUSY_BODY = b'{"detail": "too many connections; try again shortly"}'
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n"
    b"retry-after: 5\r\n"
    b"connection: close\r\n\r\n" + _BUSY_BODY
)


def guarded_protocol(limits: HttpLimits) -> type[H11Protocol]:
    """Return an h11 protocol class sharing one set of connection slots under ``limits``."""
    slots = ClientSlots(limits.connections, limits.connections_per_client)

    class GuardedH11Protocol(H11Protocol):
        """One HTTP connection, counted against the caps and timed out while idle."""

        _slots = slots
        _limits = limits

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._peer: str | None = None
            self._head_timer: asyncio.TimerHandle | None = None
            self._armed_cycle: object | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            """Count the connection, or answer 503 and close it when over a cap."""
            peer = transport.get_extra_info("peername")
            client = str(peer[0]) if peer else "unknown"
            if not self._slots.acquire(client):
                log.warning(
                    "refused an HTTP connection from %s: %d open in all, %d from it",
                    client,
                    self._slots.in_use,
                    self._slots.held_by(client),
                )
                transport.write(BUSY_RESPONSE)
                transport.close()
                return
            self._peer = client
            super().connection_made(transport)
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            """Give the slot back."""
            if self._peer is None:
                return  # refused in connection_made: uvicorn never saw it
            self._slots.release(self._peer)
            self._peer = None
            self._cancel_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            """Pass data on, unless the connection was refused."""
            if self._peer is not None:
                super().data_received(data)

        def on_response_complete(self) -> None:
            """Start waiting for the next request head."""
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._armed_cycle = self.cycle
            self._head_timer = self.loop.call_later(
                self._limits.request_head_seconds, self._head_timed_out
            )

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            busy = self.cycle is not None and not self.cycle.response_complete
            if busy or self.cycle is not self._armed_cycle:
                return  # a request arrived: its own handling decides how long it takes
            log.info("closed an HTTP connection from %s: no request within the timeout", self._peer)
            self.transport.close()

    return GuardedH11Protocol

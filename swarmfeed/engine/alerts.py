"""The alert loop: libtorrent's alerts drained on the asyncio loop and dispatched by type.

libtorrent writes a byte to a socket when alerts are pending (``set_alert_fd``); the loop reads
it, pops the alerts and hands each to the handlers registered for its type. An alert object is
invalid after the next ``pop_alerts`` (../shared/NOTES.md): handlers copy what they need at
once and never keep the alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

AlertHandler = Callable[[Any], None]


class AlertLoop:
    """Drains one session's alerts on the running loop and calls the handlers of each type."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._handlers: dict[type, list[AlertHandler]] = {}
        self._session: Any = None
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None

    def on(self, alert_type: type, handler: AlertHandler) -> None:
        """Call ``handler(alert)`` for every alert of exactly ``alert_type``."""
        self._handlers.setdefault(alert_type, []).append(handler)

    def attach(self, session: Any) -> None:
        """Start draining ``session``'s alerts whenever libtorrent signals some."""
        loop = asyncio.get_running_loop()
        self._session = session
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        session.set_alert_fd(self._writer.fileno())
        loop.add_reader(self._reader.fileno(), self.drain)

    def detach(self) -> None:
        """Stop draining and close the signalling socket pair."""
        if self._reader is not None:
            asyncio.get_running_loop().remove_reader(self._reader.fileno())
        for sock in (self._reader, self._writer):
            if sock is not None:
                sock.close()
        self._reader = self._writer = None
        self._session = None

    def drain(self) -> None:
        """Pop every pending alert and dispatch it; a failing handler is logged, not raised."""
        if self._reader is not None:
            with contextlib.suppress(BlockingIOError):
                while self._reader.recv(4096):
                    pass
        if self._session is None:
            return
        for alert in self._session.pop_alerts():
            for handler in self._handlers.get(type(alert), ()):
                try:
                    handler(alert)
                except Exception:
                    self.log.exception("handling %s failed", type(alert).__name__)

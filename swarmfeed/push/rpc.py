"""Requests, replies and the speed bumps of the push channel (protocol.md §11.5).

Every datagram is checked in this order before anything else sees it: its size, the overall and
the per-sender-IP rate limit, then the strict parse. Replies are matched to our requests by
transaction id *and* sender address. A reply to a query is sent only when it is not larger than
the query, unless the querier proved its address with a token: a small forged request never
makes this node send more bytes to a victim than the attacker sent. Refusals are counted by
reason and logged once per reason and sender per minute, so a flood cannot flood the log.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from swarmfeed.core.push import wire
from swarmfeed.core.push.ratelimit import KeyedLimiter, TokenBucket
from swarmfeed.errors import InvalidInput
from swarmfeed.push.udp import Address, Datagrams

log = logging.getLogger("swarmfeed.push")

QueryHandler = Callable[[wire.Query, Address, int], None]
Answer = wire.Reply | wire.ErrorMessage


@dataclass(frozen=True)
class RpcLimits:
    """Rate limits on incoming datagrams and the request timeout."""

    per_host_rate: float = 20.0
    per_host_burst: float = 60.0
    total_rate: float = 400.0
    total_burst: float = 800.0
    timeout: float = 2.0
    max_pending: int = 1024
    """Requests of ours awaiting a reply at once; more are not sent."""


class Refusals:
    """Counts refused input by reason; logs the first of each reason and host per window."""

    def __init__(self, window: float = 60.0, max_keys: int = 1024) -> None:
        self.window = window
        self.max_keys = max_keys
        self.counts: collections.Counter[str] = collections.Counter()
        self._logged: dict[tuple[str, str], float] = {}

    def note(self, reason: str, addr: Address, now: float, detail: str = "") -> None:
        """Count one refusal and log it unless this reason from this host was logged lately."""
        self.counts[reason] += 1
        key = (reason, addr[0])
        last = self._logged.get(key)
        if last is not None and now - last < self.window:
            return
        if len(self._logged) >= self.max_keys:
            self._logged = {k: t for k, t in self._logged.items() if now - t < self.window}
            if len(self._logged) >= self.max_keys:
                return  # a flood from many hosts: counted, not logged
        self._logged[key] = now
        suffix = f": {detail}" if detail else ""
        log.info(
            "push channel refused %s from %s:%d%s (more in the next %.0f s are only counted)",
            reason,
            *addr,
            suffix,
            self.window,
        )


class ChannelRpc:
    """Sends channel messages, matches replies to requests and hands queries to a handler."""

    def __init__(
        self,
        on_query: QueryHandler,
        clock: Callable[[], float],
        limits: RpcLimits | None = None,
    ) -> None:
        self.on_query = on_query
        self.clock = clock
        self.limits = limits or RpcLimits()
        self.refusals = Refusals()
        self.sent: collections.Counter[str] = collections.Counter()
        self.received: collections.Counter[str] = collections.Counter()
        self._datagrams: Datagrams | None = None
        self._hosts: KeyedLimiter[str] = KeyedLimiter(
            self.limits.per_host_rate, self.limits.per_host_burst
        )
        self._all = TokenBucket(self.limits.total_rate, self.limits.total_burst)
        self._pending: dict[bytes, tuple[Address, asyncio.Future[Answer | None]]] = {}

    def attach(self, datagrams: Datagrams) -> None:
        """Use ``datagrams`` for sending (its handler must call ``datagram_received``)."""
        self._datagrams = datagrams

    @property
    def local_address(self) -> Address | None:
        """Return the bound channel endpoint, or None before attach."""
        return self._datagrams.local_address if self._datagrams is not None else None

    def close(self) -> None:
        """Close the socket; requests still waiting end unanswered."""
        datagrams, self._datagrams = self._datagrams, None
        if datagrams is not None:
            datagrams.close()
        for _, future in self._pending.values():
            if not future.done():
                future.set_result(None)
        self._pending.clear()

    # receiving -------------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: Address) -> None:
        """Check, parse and route one datagram; refusals are counted and logged, never raised."""
        now = self.clock()
        if len(data) > wire.MAX_MESSAGE_BYTES:
            self.refusals.note("an oversized datagram", addr, now, f"{len(data)} bytes")
            return
        if not self._all.take(now):
            self.refusals.note("a datagram over the overall rate limit", addr, now)
            return
        if not self._hosts.allow(addr[0], now):
            self.refusals.note("a datagram over the per-sender rate limit", addr, now)
            return
        try:
            message = wire.decode(data)
        except InvalidInput as exc:
            self.refusals.note("a malformed message", addr, now, str(exc))
            return
        if isinstance(message, wire.Reply | wire.ErrorMessage):
            pending = self._pending.get(message.tid)
            if pending is None or pending[0] != addr or pending[1].done():
                self.refusals.note("an unexpected reply", addr, now)
                return
            self.received[type(message).__name__.lower()] += 1
            pending[1].set_result(message)
            return
        self.received[type(message).__name__.lower()] += 1
        self.on_query(message, addr, len(data))

    # sending ---------------------------------------------------------------------------------

    async def request(self, addr: Address, build: Callable[[bytes], wire.Query]) -> Answer | None:
        """Send the query ``build(tid)`` to ``addr``; return its answer or None on timeout."""
        if self._datagrams is None or len(self._pending) >= self.limits.max_pending:
            return None
        tid = self._new_tid()
        future: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        self._pending[tid] = (addr, future)
        try:
            if not self.send(addr, build(tid)):
                return None
            return await asyncio.wait_for(future, self.limits.timeout)
        except TimeoutError:
            return None
        finally:
            self._pending.pop(tid, None)

    def send(self, addr: Address, message: wire.Message) -> bool:
        """Send ``message`` to ``addr`` without waiting for anything; False if not sent."""
        if self._datagrams is None:
            return False
        try:
            data = wire.encode(message)
        except InvalidInput as exc:
            log.warning("not sending an invalid channel message to %s:%d: %s", *addr, exc)
            return False
        self._datagrams.send(data, addr)
        self.sent[type(message).__name__.lower()] += 1
        return True

    def reply(self, addr: Address, message: Answer, *, request_size: int, proven: bool) -> bool:
        """Answer a query; unless ``proven``, only when not larger than the query was."""
        if not proven and len(wire.encode(message)) > request_size:
            self.refusals.note("to answer larger than asked (no amplification)", addr, self.clock())
            return False
        return self.send(addr, message)

    def _new_tid(self) -> bytes:
        while True:
            tid = os.urandom(4)
            if tid not in self._pending:
                return tid

"""The KRPC transport: one UDP socket, transaction ids, a query sent and its reply matched.

KRPC (BEP 5 "KRPC Protocol") is one UDP datagram per query and one per reply; the reply
echoes the query's transaction id ``t``. A reply is accepted only from the address the query
went to and only while the query waits; anything else is dropped (and logged at debug level).
Nothing a peer sends raises.

Politeness: libtorrent drops everything from an IP for ``dht_block_timeout`` (300 s) once it
has sent a node ``10 * dht_block_ratelimit`` (default 50) packets within 10 s (measured on
2.1.1: the 50th packet of a burst goes unanswered, and other ports of that IP are blocked
too). Packets to one IP address are therefore spaced at least ``min_interval`` (0.3 s)
apart: at most 33 per 10 s, leaving room for the local libtorrent session's own queries.
Each address has its own line (pacing.py), and a query cancelled while waiting for its turn
gives its turn to the next one.

Read-only caveat: libtorrent (measured on 2.1.1) adds the sender of an accepted ``put`` to its
routing table although the query carries BEP 43's ``"ro": 1``, so other nodes' lookups may
then query this socket. The transport answers such queries with a small, rate-limited KRPC
error ("read-only node"): libtorrent counts an error reply as a failed node and drops it
sooner, and other lookups move on at once instead of waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swarmfeed.dht import krpc
from swarmfeed.dht.krpc import Message, Query
from swarmfeed.dht.pacing import Pacer
from swarmfeed.errors import SwarmfeedError

Address = tuple[str, int]

MAX_TID_BYTES = 16
"""Queries with a longer transaction id get no reply (nothing large is ever echoed)."""
REPLY_INTERVAL = 2.0
"""Seconds between two error replies to queries from one IP address."""
MAX_REPLIES = 20
"""Error replies to queries sent per second at most."""


@dataclass
class _Pending:
    """A query awaiting its response: who was asked and for which salt."""

    addr: Address
    salt: bytes
    future: asyncio.Future[Message | None]


class _Protocol(asyncio.DatagramProtocol):
    """Hands datagrams to the transport; never lets a peer's packet raise into the loop."""

    def __init__(self, endpoint: KrpcTransport) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Pass one datagram to the transport, logging anything unexpected."""
        try:
            self.endpoint._on_datagram(data, addr)
        except Exception:  # a bug here must not kill the socket
            self.endpoint.log.exception("error handling a datagram from %s", addr)

    def error_received(self, exc: Exception) -> None:
        """Log an ICMP error (port unreachable and the like)."""
        self.endpoint.log.debug("DHT socket error: %s", exc)


class KrpcTransport:
    """One UDP socket (asyncio) that sends paced KRPC queries and matches their replies."""

    def __init__(
        self,
        bind_host: str,
        *,
        timeout: float,
        min_interval: float,
        logger: logging.Logger,
    ) -> None:
        """Prepare a socket bound to ``(bind_host, 0)`` once started."""
        self.bind_host = bind_host
        self.timeout = timeout
        self.log = logger
        self.family = socket.AF_INET
        """The socket's address family (AF_INET until started on an IPv6 address)."""
        self.local: Address | None = None
        """The bound address, normalised (None before start())."""
        self.queries_sent = 0
        self.sent_by_method: Counter[str] = Counter()
        """Queries sent since start by KRPC method (BEP 5 and BEP 44 query names)."""
        """KRPC queries sent since start (metrics)."""
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[bytes, _Pending] = {}
        self._next_tid = random.randrange(1 << 16)
        self._pacer = Pacer(min_interval)
        self._replied: dict[str, float] = {}
        self._reply_window: tuple[float, int] = (0.0, 0)

    async def start(self) -> None:
        """Bind the UDP socket on ``(bind_host, 0)``."""
        if self._transport is not None:
            return
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.bind_host, 0)
        )
        self._transport = transport
        sock = transport.get_extra_info("socket")
        self.family = sock.family if sock is not None else socket.AF_INET
        host, port = transport.get_extra_info("sockname")[:2]
        self.local = normalize_address(str(host), int(port))

    def close(self) -> None:
        """Close the socket; queries still waiting end as unanswered."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        self._pacer.close()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_result(None)
        self._pending.clear()

    @property
    def local_address(self) -> Address:
        """Return the bound ``(host, port)``; raises SwarmfeedError before start()."""
        if self._transport is None:
            raise SwarmfeedError("DhtClient is not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return (str(host), int(port))

    def fits(self, host: str) -> bool:
        """Return whether the literal address ``host`` fits the socket (ValueError if no IP)."""
        version = ipaddress.ip_address(host).version
        return version == (6 if self.family == socket.AF_INET6 else 4)

    def send_time(self, host: str) -> float:
        """Return the loop time at which a query to ``host`` sent now would leave (pacing)."""
        return self._pacer.estimate(host)

    async def query(
        self, addr: Address, build: Callable[[bytes], bytes], salt: bytes, method: str
    ) -> Message | None:
        """Send one ``method`` query and return its reply, or None on timeout or bad reply."""
        if self._transport is None:
            raise SwarmfeedError("DhtClient is not started")
        loop = asyncio.get_running_loop()
        await self._pacer.wait(addr[0])
        transport = self._transport
        if transport is None:
            return None
        tid = self._new_tid()
        future: asyncio.Future[Message | None] = loop.create_future()
        self._pending[tid] = _Pending(addr, salt, future)
        try:
            transport.sendto(build(tid), addr)
            self.queries_sent += 1
            self.sent_by_method[method] += 1
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            self.log.debug("no answer from %s:%d", *addr)
            return None
        except OSError as exc:
            self.log.debug("cannot send to %s:%d: %s", *addr, exc)
            return None
        finally:
            self._pending.pop(tid, None)

    def _new_tid(self) -> bytes:
        """Return a 2-byte transaction id not in use (BEP 5: opaque, echoed by the node)."""
        while True:
            self._next_tid = (self._next_tid + 1) & 0xFFFF
            tid = self._next_tid.to_bytes(2, "big")
            if tid not in self._pending:
                return tid

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        """Match a datagram to its pending query by transaction id and sender, or drop it."""
        try:
            sender = normalize_address(str(addr[0]), int(addr[1]))
            raw = krpc.decode_envelope(data)
            tid = krpc.transaction_id(raw)
        except ValueError as exc:  # InvalidInput and BencodeError are ValueErrors
            self.log.debug("dropped a malformed datagram from %s: %s", addr, exc)
            return
        if raw.get(b"y") == b"q":
            self._refuse_query(tid, sender)
            return
        pending = self._pending.get(tid)
        if pending is None or pending.future.done() or pending.addr != sender:
            self.log.debug("dropped an unexpected datagram from %s:%d", *sender)
            return
        try:
            message = krpc.message_from_dict(raw, salt=pending.salt)
        except ValueError as exc:
            self.log.info("malformed reply from %s:%d: %s", *sender, exc)
            pending.future.set_result(None)
            return
        if not isinstance(message, Query):
            pending.future.set_result(message)

    def _refuse_query(self, tid: bytes, sender: Address) -> None:
        """Answer a query with KRPC error 201 "read-only node" (BEP 43), rate-limited.

        libtorrent adds the sender of an accepted put to its routing table despite ``"ro": 1``;
        a silent entry there costs every lookup through it a timeout (measured in a 3-node
        DHT: a page torrent found after 16 s instead of 0.7 s). An error reply makes the
        querier count a failure and drop us soon. Replies are limited to one per querier IP
        per REPLY_INTERVAL and MAX_REPLIES per second in all, so they stay far below
        libtorrent's per-IP limit (``dht_block_ratelimit``), which our own DHT node shares.
        """
        transport = self._transport
        if transport is None or len(tid) > MAX_TID_BYTES:
            return
        now = asyncio.get_running_loop().time()
        if now - self._reply_window[0] >= 1.0:
            self._reply_window = (now, 0)
        if self._reply_window[1] >= MAX_REPLIES or self._replied.get(sender[0], -1e9) > now:
            return
        if len(self._replied) > 4096:
            self._replied = {h: t for h, t in self._replied.items() if t > now}
        self._replied[sender[0]] = now + REPLY_INTERVAL
        self._reply_window = (self._reply_window[0], self._reply_window[1] + 1)
        with contextlib.suppress(OSError):
            transport.sendto(krpc.build_error(tid, krpc.ERROR_GENERIC, "read-only node"), sender)


def normalize_address(host: str, port: int) -> Address:
    """Return ``(host, port)`` with the IP literal normalised (ValueError if not an IP)."""
    with contextlib.suppress(ValueError):
        ipv6 = ipaddress.IPv6Address(host)
        if ipv6.ipv4_mapped is not None:
            return (str(ipv6.ipv4_mapped), port)
    return (str(ipaddress.ip_address(host)), port)

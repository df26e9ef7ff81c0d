"""The channel's UDP socket behind the small ``Datagrams`` seam (tests use an in-memory one)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from typing import Any, Protocol

from swarmfeed.errors import SwarmfeedError

Address = tuple[str, int]
Handler = Callable[[bytes, Address], None]

log = logging.getLogger("swarmfeed.push")


class Datagrams(Protocol):
    """What the channel needs from a datagram socket."""

    @property
    def local_address(self) -> Address:
        """Return the bound ``(host, port)``."""
        ...

    def send(self, data: bytes, addr: Address) -> None:
        """Send one datagram; never raises for a peer that cannot be reached."""
        ...

    def close(self) -> None:
        """Stop sending and receiving."""
        ...


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            sender = normalize(str(addr[0]), int(addr[1]))
        except ValueError:
            return
        try:
            self.handler(data, sender)
        except Exception:  # a bug here must not kill the socket
            log.exception("error handling a channel datagram from %s:%d", *sender)

    def error_received(self, exc: Exception) -> None:
        log.debug("channel socket error: %s", exc)


class UdpDatagrams:
    """An asyncio UDP endpoint."""

    def __init__(self, transport: asyncio.DatagramTransport) -> None:
        self._transport: asyncio.DatagramTransport | None = transport
        host, port = transport.get_extra_info("sockname")[:2]
        self._local = normalize(str(host), int(port))

    @property
    def local_address(self) -> Address:
        """Return the bound ``(host, port)``."""
        return self._local

    def send(self, data: bytes, addr: Address) -> None:
        """Send one datagram; a closed socket or an unreachable peer is only logged."""
        if self._transport is None:
            return
        try:
            self._transport.sendto(data, addr)
        except OSError as exc:
            log.debug("cannot send to %s:%d: %s", *addr, exc)

    def close(self) -> None:
        """Close the socket."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()


async def open_udp(host: str, port: int, handler: Handler, *, fallback: bool) -> UdpDatagrams:
    """Bind ``(host, port)``; with ``fallback`` a busy port gives way to any free one.

    Raises SwarmfeedError when the port cannot be bound (and no fallback is allowed).
    """
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(handler), local_addr=(host, port)
        )
    except OSError as exc:
        if not fallback or port == 0:
            raise SwarmfeedError(f"cannot bind the push channel to {host}:{port}: {exc}") from exc
        log.warning("push channel port %d on %s is busy (%s); using any free port", port, host, exc)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(handler), local_addr=(host, 0)
        )
    return UdpDatagrams(transport)


def normalize(host: str, port: int) -> Address:
    """Return ``(host, port)`` with the IP literal normalised (IPv4-mapped IPv6 to IPv4)."""
    with contextlib.suppress(ValueError):
        mapped = ipaddress.IPv6Address(host).ipv4_mapped
        if mapped is not None:
            return (str(mapped), port)
    return (str(ipaddress.ip_address(host)), port)

"""Where a lookup starts: the caller's seed endpoints, sampled, resolved and deduplicated.

A BEP 5 lookup needs a few nodes to ask first. The client's ``seeds`` callable names them
(the local libtorrent session's routing table, bootstrap routers by host name); at most
MAX_SEEDS of them start one lookup. Host names are resolved to addresses of the socket's
family and cached for RESOLVE_TTL, so a lookup does not wait for DNS every time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable, Iterable

from swarmfeed.dht.transport import Address, KrpcTransport, normalize_address

MAX_SEEDS = 64
"""At most this many seed endpoints start one lookup (a random sample when there are more)."""
RESOLVE_TTL = 600.0
"""Seconds a resolved seed host name (e.g. a bootstrap router) is cached."""


class Seeds:
    """Turns the caller's seed endpoints into literal addresses the socket can reach."""

    def __init__(
        self,
        seeds: Callable[[], Iterable[tuple[str, int]]],
        transport: KrpcTransport,
        *,
        timeout: float,
        logger: logging.Logger,
    ) -> None:
        """Read endpoints from ``seeds``; resolve names within ``timeout`` for ``transport``."""
        self.seeds = seeds
        self.transport = transport
        self.timeout = timeout
        self.log = logger
        self._resolved: dict[Address, tuple[float, list[Address]]] = {}

    async def addresses(self) -> list[Address]:
        """Return the resolved, deduplicated seed endpoints for one lookup."""
        try:
            seeds = list(self.seeds())
        except Exception:  # the callable belongs to the caller; a lookup goes on without it
            self.log.exception("the DHT seed callable failed")
            return []
        if len(seeds) > MAX_SEEDS:
            seeds = random.sample(seeds, MAX_SEEDS)
        addresses: list[Address] = []
        for host, port in seeds:
            if not isinstance(port, int) or not 0 < port < 1 << 16:
                continue
            for addr in await self._resolve(str(host), port):
                if addr not in addresses:
                    addresses.append(addr)
        return addresses

    async def _resolve(self, host: str, port: int) -> list[Address]:
        """Return ``host`` as literal addresses of the socket's family (DNS is cached)."""
        try:
            return [normalize_address(host, port)] if self.transport.fits(host) else []
        except ValueError:
            pass  # a host name
        loop = asyncio.get_running_loop()
        cached = self._resolved.get((host, port))
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, family=self.transport.family, type=socket.SOCK_DGRAM),
                self.timeout,
            )
        except (OSError, TimeoutError) as exc:
            self.log.info("cannot resolve DHT seed %s:%d: %s", host, port, exc)
            return []
        found = []
        for info in infos:
            addr = normalize_address(str(info[4][0]), int(info[4][1]))
            if addr not in found:
                found.append(addr)
        self._resolved[(host, port)] = (loop.time() + RESOLVE_TTL, found)
        return found

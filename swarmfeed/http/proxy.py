"""Requests that came through a trusted reverse proxy: the client, scheme and host it saw.

A box reached through nginx, Caddy or Traefik sees every request come from the proxy. The
proxy says who the client was (``X-Forwarded-For``), whether it spoke TLS
(``X-Forwarded-Proto``) and which host name it was asked for (``X-Forwarded-Host``). Anyone
can send those headers, so they are believed only from the addresses in the
``trusted_proxies`` setting; for everyone else they mean nothing.

uvicorn's own proxy-header middleware covers the first two but not the host, and trusts
127.0.0.1 unless told otherwise; the node turns it off and uses this one (about 60 lines).
The host matters because the CSRF check compares a browser's ``Origin`` with ``Host``
(http/security.py): behind a proxy that rewrites ``Host`` every form post would be refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from swarmfeed.http.limits import ASGIApp, Receive, Scope, Send

_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # an IPv4 address with a port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ForwardedHeaders:
    """ASGI middleware: take client, scheme and host from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[str]) -> None:
        self.app = app
        self.networks: list[Network] = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def trusts(self, text: str) -> bool:
        """Return True when ``text`` is an address of a trusted proxy."""
        address = _address(text)
        return address is not None and any(address in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the scope of a request a trusted proxy forwarded, then pass it on."""
        client = scope.get("client")
        if scope["type"] == "http" and self.networks and client and self.trusts(client[0]):
            scope = self._forwarded(dict(scope))
        await self.app(scope, receive, send)

    def _forwarded(self, scope: Scope) -> Scope:
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", []):
            name = key.decode("latin-1").lower()
            if name.startswith("x-forwarded-"):
                headers[name] = value.decode("latin-1")
        hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
        # The nearest hop not a trusted proxy is the client (those to its left could be forged).
        while hops and self.trusts(hops[-1]) and len(hops) > 1:
            hops.pop()
        if hops and (address := _address(hops[-1])) is not None:
            scope["client"] = (str(address), 0)
        proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
        host = headers.get("x-forwarded-host", "").split(",")[0].strip()
        if host and _HOST.fullmatch(host):
            kept = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"host"]
            scope["headers"] = [*kept, (b"host", host.encode("ascii"))]
        return scope

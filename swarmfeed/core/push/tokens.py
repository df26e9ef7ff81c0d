"""Address tokens: proof that a sender receives datagrams at the address it sends from.

The KRPC idea (BEP 5, ``get_peers`` / ``announce_peer``): a node answers a first request with
a token, an HMAC of the sender's IP address and port under a secret that rotates; only a request
carrying a token issued for the same address is acted upon. A forged source address never sees
the token, so it can never be made the target of a subscription (and so of pushes).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Callable

from swarmfeed.core.push.wire import TOKEN_BYTES

Address = tuple[str, int]

SECRET_BYTES = 16
ROTATE_SECONDS = 300.0
"""A token is valid for one to two rotations: 5 to 10 minutes."""


class AddressTokens:
    """Issues and checks tokens bound to a sender's ``(ip, port)``; the secret rotates."""

    def __init__(
        self,
        *,
        rotate_every: float = ROTATE_SECONDS,
        entropy: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if rotate_every <= 0:
            raise ValueError("rotate_every must be positive")
        self.rotate_every = rotate_every
        self._entropy = entropy
        self._current = entropy(SECRET_BYTES)
        self._previous = self._current
        self._rotated_at: float | None = None

    def issue(self, addr: Address, now: float) -> bytes:
        """Return the token for ``addr`` under the current secret."""
        self._rotate(now)
        return _token(self._current, addr)

    def valid(self, token: bytes | None, addr: Address, now: float) -> bool:
        """Return whether ``token`` was issued for ``addr`` under the current or last secret."""
        self._rotate(now)
        if token is None or len(token) != TOKEN_BYTES:
            return False
        return any(
            hmac.compare_digest(token, _token(secret, addr))
            for secret in (self._current, self._previous)
        )

    def _rotate(self, now: float) -> None:
        if self._rotated_at is None:
            self._rotated_at = now
            return
        elapsed = now - self._rotated_at
        if elapsed < self.rotate_every:
            return
        # After two or more silent periods both secrets are stale: replace both.
        self._previous = (
            self._current if elapsed < 2 * self.rotate_every else self._entropy(SECRET_BYTES)
        )
        self._current = self._entropy(SECRET_BYTES)
        self._rotated_at = now


def _token(secret: bytes, addr: Address) -> bytes:
    host, port = addr
    packed = ipaddress.ip_address(host).packed + int(port).to_bytes(2, "big")
    return hmac.new(secret, packed, hashlib.sha256).digest()[:TOKEN_BYTES]

"""One registry of futures keyed by what they wait for: a torrent, a piece, a flush, a DHT key.

Every engine wait is the same shape: a caller registers a future under a key, an alert handler
later resolves (or fails) every future under that key or under keys matching a predicate, and
a caller that gives up (timeout, cancellation) takes its future out again. Nothing here knows
libtorrent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Waiters(Generic[K]):
    """Futures waiting for keys of type ``K``; resolved or failed by key or by predicate."""

    def __init__(self) -> None:
        self._waiting: dict[K, list[asyncio.Future[None]]] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._waiting

    def __len__(self) -> int:
        return sum(len(futures) for futures in self._waiting.values())

    def keys(self) -> list[K]:
        """Return the keys somebody waits for."""
        return list(self._waiting)

    def register(self, key: K) -> asyncio.Future[None]:
        """Return a new future under ``key``; the caller awaits it and calls ``discard`` after."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        return future

    def discard(self, key: K, future: asyncio.Future[None]) -> None:
        """Take ``future`` out of the registry (it timed out, was cancelled or is done)."""
        futures = self._waiting.get(key)
        if futures is None:
            return
        if future in futures:
            futures.remove(future)
        if not futures:
            del self._waiting[key]

    async def wait(self, key: K, timeout: float | None = None) -> None:
        """Wait until ``key`` is resolved (raise its failure, or TimeoutError after ``timeout``)."""
        future = self.register(key)
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self.discard(key, future)

    def resolve(self, key: K) -> None:
        """Wake every waiter of ``key``."""
        for future in self._waiting.pop(key, []):
            if not future.done():
                future.set_result(None)

    def resolve_where(self, matches: Callable[[K], bool]) -> None:
        """Wake every waiter whose key ``matches``."""
        for key in [k for k in self._waiting if matches(k)]:
            self.resolve(key)

    def fail(self, key: K, error: BaseException) -> None:
        """Raise ``error`` in every waiter of ``key``."""
        for future in self._waiting.pop(key, []):
            if not future.done():
                future.set_exception(error)

    def fail_where(self, matches: Callable[[K], bool], error: BaseException) -> None:
        """Raise ``error`` in every waiter whose key ``matches``."""
        for key in [k for k in self._waiting if matches(k)]:
            self.fail(key, error)

    def fail_all(self, error: BaseException) -> None:
        """Raise ``error`` in every waiter (the engine stopped)."""
        self.fail_where(lambda _key: True, error)

"""Putting our signed head into the DHT (BEP 44), retried until some node stores it.

A new head replaces the one being put: only the newest head matters, since it covers every
older post. DHT items expire after about two hours (BEP 44), so the head is put again at every
start and every ``republish_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from swarmfeed.core.bep44 import MutableItem
from swarmfeed.dht.client import DhtClient, PutResult

log = logging.getLogger("swarmfeed.headput")

FIRST_RETRY = 0.5
MAX_RETRY = 60.0


class HeadPutter:
    """Keeps our newest head in the DHT."""

    def __init__(self, dht: DhtClient) -> None:
        self.dht = dht
        self._task: asyncio.Task[None] | None = None
        self._next: MutableItem | None = None
        self._wake = asyncio.Event()
        self._listeners: list[Callable[[MutableItem, PutResult], None]] = []

    def on_put(self, listener: Callable[[MutableItem, PutResult], None]) -> None:
        """Call ``listener(item, result)`` after every attempt to put our head."""
        self._listeners.append(listener)

    def idle(self) -> bool:
        """Return True when no put is under way."""
        return self._task is None or self._task.done()

    def schedule(self, item: MutableItem) -> None:
        """Put ``item`` in the background, retrying until some node stores it.

        At most one put is in flight and one waits: a newer item replaces the waiting one (and
        ends a retry pause), and an unfinished put of an older item is never started again. A
        burst of posts costs the put in flight and one put of the newest head; a replaced put
        costs nothing (a cancelled put would still have held the DHT client's send slots).
        """
        self._next = item
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._put_until_stored())

    async def _put_until_stored(self) -> None:
        """Put the newest scheduled head until some node stores it (or a newer one comes)."""
        while self._next is not None:
            item, self._next = self._next, None
            delay = FIRST_RETRY
            while self._next is None:
                try:
                    result = await self.dht.put_mutable(item)
                    self._report(item, result)
                    if result.stored > 0:
                        log.info("head seq %d stored on %d DHT nodes", item.seq, result.stored)
                        break
                    log.warning("head seq %d stored on no DHT node yet; retrying", item.seq)
                except OSError as exc:
                    log.warning("putting head seq %d failed: %s", item.seq, exc)
                    self._report(item, PutResult(0, 0))
                self._wake.clear()
                # Back-off between DHT retries; a newer head ends it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                delay = min(delay * 2, MAX_RETRY)

    def _report(self, item: MutableItem, result: PutResult) -> None:
        for listener in self._listeners:
            listener(item, result)

    async def wait_published(self, timeout: float = 60.0) -> None:
        """Wait until the latest head has been stored by at least one DHT node."""
        async with asyncio.timeout(timeout):
            while self._task is not None and not self._task.done():
                await asyncio.shield(self._task)

    async def close(self) -> None:
        """Cancel a pending put."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

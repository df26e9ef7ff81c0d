"""One followed author's parents: rendezvous lookups, subscriptions, renewals (protocol.md §11.6).

``ParentSet`` decides; this loop performs what it decides and reports the outcomes back. It
sleeps until the next renewal, retry or lookup falls due, or until an answer arrives. Lookups
and announcements run per author, on a slow timer once enough parents are found: the DHT
traffic grows with the authors followed, never with their posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from swarmfeed.core.push import wire
from swarmfeed.core.push.parents import ParentPolicy, ParentSet
from swarmfeed.errors import SwarmfeedError
from swarmfeed.push.rendezvous import Rendezvous
from swarmfeed.push.rpc import Answer, ChannelRpc
from swarmfeed.push.udp import Address

log = logging.getLogger("swarmfeed.push")


class AuthorLink:
    """Keeps subscriptions to ``want`` holders of one author."""

    def __init__(
        self,
        author: bytes,
        rpc: ChannelRpc,
        rendezvous: Rendezvous,
        policy: ParentPolicy,
        *,
        clock: Callable[[], float],
        announce_port: Callable[[], int | None],
        is_self: Callable[[Address], bool],
        announce_interval: float,
        rng: random.Random | None = None,
    ) -> None:
        self.author = author
        self.rpc = rpc
        self.rendezvous = rendezvous
        self.parents = ParentSet(policy, rng=rng)
        self.clock = clock
        self.announce_port = announce_port
        self.is_self = is_self
        self.announce_interval = announce_interval
        self._wake = asyncio.Event()
        self._busy: set[Address] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_announce = 0.0
        self._runner: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """Return the author's short hex name for logs."""
        return self.author.hex()[:16]

    def start(self) -> None:
        """Start the loop."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())

    def wake(self) -> None:
        """Re-evaluate now (e.g. after a push told something about a parent)."""
        self._wake.set()

    async def close(self, *, unsubscribe: bool, timeout: float = 1.0) -> None:
        """Stop; with ``unsubscribe`` tell every parent, waiting at most ``timeout`` seconds."""
        tasks = [*self._tasks, *([self._runner] if self._runner else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if unsubscribe and self.parents.parents:
            goodbyes = (self._unsubscribe(p.addr, p.token) for p in self.parents.parents)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*goodbyes), timeout)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock()
            self._step(now)
            delay = self.parents.next_due(now) - now
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.01, delay)):
                    await self._wake.wait()

    def _step(self, now: float) -> None:
        for addr in self.parents.expire(now):
            log.info("subscription of %s at %s:%d ran out", self.name, *addr)
        for addr in self.parents.to_drop():
            parent = next(p for p in self.parents.parents if p.addr == addr)
            self.parents.remove(addr)
            self._spawn(self._unsubscribe(addr, parent.token))
        if self.parents.lookup_due(now):
            self.parents.lookup_started()
            self._spawn(self._meet())
        for addr in self.parents.to_try(now, self._busy):
            self._busy.add(addr)
            self._spawn(self._subscribe(addr, None))
        for parent in self.parents.to_renew(now, self._busy):
            self._busy.add(parent.addr)
            self._spawn(self._subscribe(parent.addr, parent.token))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("push link task of %s failed", self.name, exc_info=task.exception())
        self._wake.set()

    async def _meet(self) -> None:
        """Look up the author's rendezvous (and announce ourselves there when due)."""
        now = self.clock()
        port = self.announce_port() if now >= self._next_announce else None
        try:
            found = await self.rendezvous.meet(self.author, port)
        except (SwarmfeedError, OSError) as exc:
            log.info("rendezvous lookup of %s failed: %s", self.name, exc)
        else:
            if found.announced:
                self._next_announce = now + self.announce_interval
            holders = [addr for addr in found.holders if not self.is_self(addr)]
            added = self.parents.add_candidates(holders, now)
            log.debug("rendezvous of %s: %d holders, %d new", self.name, len(holders), added)
        finally:
            self.parents.lookup_done(self.clock())

    async def _subscribe(self, addr: Address, token: bytes | None) -> None:
        """Subscribe to (or renew at) ``addr``, fetching a fresh token first if needed."""
        try:
            answer = await self._ask(addr, token)
            if isinstance(answer, wire.Reply) and answer.ttl is None and answer.token is not None:
                answer = await self._ask(addr, answer.token)  # the token proves our address
            now = self.clock()
            if isinstance(answer, wire.Reply) and answer.ttl and answer.token:
                was_live = self.parents.live
                if not self.parents.subscribed(addr, answer.token, answer.ttl, answer.hops, now):
                    await self._unsubscribe(addr, answer.token)
                elif not was_live and self.parents.live:
                    log.info(
                        "%s is live: pushed through %s:%d, %s hops from the author",
                        self.name,
                        *addr,
                        self.parents.path_length,
                    )
            elif isinstance(answer, wire.ErrorMessage):
                log.debug("%s:%d refused %s: %s", *addr, self.name, answer.text)
                self.parents.refused(addr, now, full=answer.code == wire.ERROR_FULL)
            else:
                self.parents.failed(addr, now)
        finally:
            self._busy.discard(addr)

    async def _ask(self, addr: Address, token: bytes | None) -> Answer | None:
        return await self.rpc.request(addr, lambda tid: wire.Subscribe(tid, self.author, token))

    async def _unsubscribe(self, addr: Address, token: bytes) -> None:
        await self.rpc.request(addr, lambda tid: wire.Unsubscribe(tid, self.author, token))

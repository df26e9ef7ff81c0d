"""The push channel's front: what the node wires in (protocol.md §11).

Three sources of new heads meet here: the author's own publisher (pushed with ``hops`` 0), pushes
from parents (verified, offered to the follower, relayed) and heads the follower stored after a
DHT poll (relayed if nobody pushed them). Duplicate suppression makes each node relay each head
of an author at most once, so the tree's cycles cost one dropped copy, never a loop. A push
never bypasses the follower's checks: it is only offered as a candidate head.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import time
from collections.abc import Awaitable, Callable

from swarmfeed.core.bep44 import MutableItem
from swarmfeed.core.push import wire
from swarmfeed.core.push.children import ChildTable
from swarmfeed.core.push.dedup import Seen
from swarmfeed.core.push.tokens import AddressTokens
from swarmfeed.errors import SwarmfeedError
from swarmfeed.push.holder import Holder
from swarmfeed.push.link import AuthorLink
from swarmfeed.push.relay import Relay
from swarmfeed.push.rendezvous import Rendezvous
from swarmfeed.push.rpc import ChannelRpc
from swarmfeed.push.types import LiveStatus, PushConfig, PushStats
from swarmfeed.push.udp import Address, Datagrams, Handler, open_udp

log = logging.getLogger("swarmfeed.push")

Bind = Callable[[Handler], Awaitable[Datagrams]]
NoticeHandler = Callable[[bytes, str], "bytes | tuple[int, str]"]


class PushService:
    """Subscribes to holders of followed authors, serves subscribers, relays new heads."""

    def __init__(
        self,
        own_key: bytes,
        config: PushConfig,
        rendezvous: Rendezvous,
        *,
        offer_head: Callable[[str, MutableItem], object],
        stored_head: Callable[[str], MutableItem | None],
        clock: Callable[[], float] = time.monotonic,
        bind: Bind | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.own_key = own_key
        self.config = config
        self.rendezvous = rendezvous
        self.offer_head = offer_head
        self.stored_head = stored_head
        self.clock = clock
        self._bind = bind
        self._rng = rng or random.Random()
        self.rpc = ChannelRpc(self._on_query, clock, config.rpc)
        self.holder = Holder(
            self.rpc,
            ChildTable(config.children),
            AddressTokens(),
            held=self._held,
            hops=self._hops,
            clock=clock,
        )
        self.relay = Relay(
            self.holder,
            self.rpc.refusals,
            own_key=own_key,
            clock=clock,
            rate=config.relay_rate,
            burst=config.relay_burst,
        )
        self._links: dict[bytes, AuthorLink] = {}
        self.notice_handler: NoticeHandler | None = None
        """Judges a notice for our author: our ack, or the error code and text (§11.8)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._confirming: dict[bytes, asyncio.Task[None]] = {}

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the channel's socket and start announcing our own author."""
        if self._bind is not None:
            datagrams = await self._bind(self.rpc.datagram_received)
        else:
            datagrams = await open_udp(
                self.config.host,
                self.config.port,
                self.rpc.datagram_received,
                fallback=self.config.fallback,
            )
        self.rpc.attach(datagrams)
        own = self.stored_head(self.own_key.hex())
        if own is not None:
            self.relay.remember(own)
        self._spawn(self._announce_own())
        log.info("push channel on %s:%d", *datagrams.local_address)

    async def close(self) -> None:
        """Stop every loop, tell parents goodbye, close the socket."""
        tasks = [*self._tasks, *self._confirming.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        links, self._links = list(self._links.values()), {}
        await asyncio.gather(*(link.close(unsubscribe=True) for link in links))
        self.rpc.close()

    @property
    def endpoint(self) -> Address | None:
        """Return the channel's bound endpoint."""
        return self.rpc.local_address

    # what the node tells us ------------------------------------------------------------------

    def track(self, author: str) -> None:
        """Start keeping parents for the followed ``author`` (hex key)."""
        key = bytes.fromhex(author)
        if key == self.own_key or key in self._links:
            return
        stored = self.stored_head(author)
        if stored is not None:
            self.relay.remember(stored)
        link = AuthorLink(
            key,
            self.rpc,
            self.rendezvous,
            self.config.parents,
            clock=self.clock,
            announce_port=self._announce_port,
            is_self=self._is_self,
            announce_interval=self.config.announce_interval,
            rng=self._rng,
        )
        self._links[key] = link
        link.start()

    def untrack(self, author: str) -> None:
        """Stop following ``author``: unsubscribe, forget its subscribers."""
        key = bytes.fromhex(author)
        link = self._links.pop(key, None)
        confirming = self._confirming.pop(key, None)
        if confirming is not None:
            confirming.cancel()
        self.holder.drop_author(key)
        self.relay.forget(key)
        if link is not None:
            self._spawn(link.close(unsubscribe=True))

    def on_own_head(self, item: MutableItem) -> None:
        """Push a head our own author just signed to its subscribers (hops 0)."""
        if item.public_key == self.own_key:
            self.relay.new_head(item, 0)

    def on_head_stored(self, author: str, item: MutableItem) -> None:
        """Relay a head the follower stored, unless it was relayed already (e.g. it was pushed)."""
        key = bytes.fromhex(author)
        link = self._links.get(key)
        if link is not None:
            self.relay.new_head(item, link.parents.path_length or self.config.unknown_hops)

    def status(self, author: str) -> LiveStatus:
        """Return whether new heads of ``author`` are pushed to us, and over how many hops."""
        link = self._links.get(bytes.fromhex(author))
        if link is None:
            return LiveStatus(False, None, 0)
        parents = link.parents
        return LiveStatus(parents.live, parents.path_length, len(parents.good))

    def stats(self) -> PushStats:
        """Return the channel's counters."""
        return PushStats(
            endpoint=self.endpoint,
            own_pushes=self.relay.counts["own"],
            pushes_sent=self.rpc.sent["push"],
            heads_received=self.relay.counts["received"],
            duplicates=self.relay.counts["duplicate"],
            subscribers=self.holder.table.total,
            refused=dict(self.rpc.refusals.counts),
        )

    # incoming --------------------------------------------------------------------------------

    def _on_query(self, query: wire.Query, addr: Address, size: int) -> None:
        if isinstance(query, wire.Subscribe):
            self.holder.on_subscribe(query, addr, size)
        elif isinstance(query, wire.Unsubscribe):
            self.holder.on_unsubscribe(query, addr, size)
        elif isinstance(query, wire.Push):
            self._on_push(query, addr)
        elif isinstance(query, wire.NoticeQuery) and self.notice_handler is not None:
            self._on_notice(query, addr, size)
        else:
            error = wire.ErrorMessage(query.tid, wire.ERROR_METHOD_UNKNOWN, "method unknown")
            self.rpc.reply(addr, error, request_size=size, proven=False)

    def _on_notice(self, query: wire.NoticeQuery, addr: Address, size: int) -> None:
        """Answer a notice: a token first (as for ``sub``), then our author's verdict (§11.8)."""
        assert self.notice_handler is not None
        now = self.clock()
        tokens = self.holder.tokens
        if not tokens.valid(query.token, addr, now):
            answer = wire.Reply(query.tid, token=tokens.issue(addr, now))
            self.rpc.reply(addr, answer, request_size=size, proven=False)
            return
        if query.recipient != self.own_key:
            error = wire.ErrorMessage(query.tid, wire.ERROR_NOT_AUTHOR, "not the author's node")
            self.rpc.reply(addr, error, request_size=size, proven=True)
            return
        verdict = self.notice_handler(query.notice, addr[0])
        if isinstance(verdict, bytes):
            self.rpc.reply(addr, wire.Reply(query.tid, ack=verdict), request_size=size, proven=True)
        else:
            code, text = verdict
            error = wire.ErrorMessage(query.tid, code, text[: wire.MAX_ERROR_TEXT_BYTES])
            self.rpc.reply(addr, error, request_size=size, proven=True)

    def _on_push(self, push: wire.Push, addr: Address) -> None:
        """Take a pushed head: only from a parent; verified, relayed, offered to the follower."""
        author, now = push.item.public_key, self.clock()
        link = self._links.get(author)
        if link is None:
            self.rpc.refusals.note("a push of an author not followed", addr, now)
            return
        if not link.parents.is_parent(addr):
            self.rpc.refusals.note("a push from a node not subscribed to", addr, now)
            return
        verdict = self.relay.take(push, addr)
        if verdict is None:
            return
        link.parents.pushed(addr, push.hops)
        if verdict is not Seen.NEW:
            return
        log.info(
            "head seq %d of %s pushed by %s:%d, %d hops",
            push.item.seq,
            link.name,
            *addr,
            push.hops + 1,
        )
        self._offer(push.item)
        previous = self._confirming.pop(author, None)
        if previous is not None:
            previous.cancel()
        self._confirming[author] = asyncio.create_task(self._confirm(push.item))

    def _offer(self, item: MutableItem) -> None:
        try:
            self.offer_head(item.public_key.hex(), item)
        except (SwarmfeedError, OSError) as exc:
            log.warning("the follower refused a pushed head of %s: %s", item.public_key.hex(), exc)

    async def _confirm(self, item: MutableItem) -> None:
        """Offer ``item`` again until the follower stored it or a newer head arrived."""
        author = item.public_key
        pause = self.config.reoffer_after
        for _ in range(self.config.reoffers):
            await asyncio.sleep(pause)  # back-off between checks of another component's state
            stored = self.stored_head(author.hex())
            if stored is not None and stored.seq >= item.seq:
                return
            if author not in self._links or self.relay.seen.newest(author) != item.seq:
                return
            log.info(
                "pushed head seq %d of %s is not stored yet: offering it again",
                item.seq,
                author.hex()[:16],
            )
            self._offer(item)
            pause *= 2

    # helpers ---------------------------------------------------------------------------------

    def _held(self, author: bytes) -> bool:
        return author == self.own_key or author in self._links

    def _hops(self, author: bytes) -> int | None:
        if author == self.own_key:
            return 0
        link = self._links.get(author)
        return link.parents.path_length if link is not None else None

    def _announce_port(self) -> int | None:
        endpoint = self.endpoint
        return endpoint[1] if endpoint is not None else None

    def _is_self(self, addr: Address) -> bool:
        endpoint = self.endpoint
        if endpoint is None or addr[1] != endpoint[1]:
            return False
        return addr[0] == endpoint[0] or ipaddress.ip_address(endpoint[0]).is_unspecified

    async def _announce_own(self) -> None:
        """Keep our own author's rendezvous announced: retry soon on failure, else rarely."""
        delay = 1.0
        while True:
            port = self._announce_port()
            announced = False
            try:
                if port is not None:
                    announced = (await self.rendezvous.meet(self.own_key, port)).announced
            except (SwarmfeedError, OSError) as exc:
                log.info("announcing our rendezvous failed: %s", exc)
            if announced:
                delay = 1.0
                await asyncio.sleep(self.config.announce_interval)  # periodic timer
            else:
                await asyncio.sleep(delay)  # back-off while the DHT is cold
                delay = min(delay * 2, 300.0)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

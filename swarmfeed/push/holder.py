"""The serving side of the channel: subscriptions to the authors this node holds, and pushes.

A subscription request without a valid address token is answered with a token only (a reply
smaller than the request); with one, the subscriber is added (or renewed) within the table's
bounds and told the subscription's lifetime and this node's distance from the author. A new head
goes to every live subscriber of its author, except the node it came from.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from swarmfeed.core.bep44 import MutableItem
from swarmfeed.core.push import wire
from swarmfeed.core.push.children import Added, ChildTable
from swarmfeed.core.push.tokens import AddressTokens
from swarmfeed.push.rpc import ChannelRpc
from swarmfeed.push.udp import Address

log = logging.getLogger("swarmfeed.push")


class Holder:
    """Answers ``sub``/``unsub`` for held authors and pushes new heads to their subscribers."""

    def __init__(
        self,
        rpc: ChannelRpc,
        table: ChildTable,
        tokens: AddressTokens,
        *,
        held: Callable[[bytes], bool],
        hops: Callable[[bytes], int | None],
        clock: Callable[[], float],
    ) -> None:
        self.rpc = rpc
        self.table = table
        self.tokens = tokens
        self.held = held
        self.hops = hops
        self.clock = clock

    def on_subscribe(self, query: wire.Subscribe, addr: Address, size: int) -> None:
        """Answer a subscription request (protocol.md §11.4)."""
        now = self.clock()
        proven = self.tokens.valid(query.token, addr, now)
        token = self.tokens.issue(addr, now)
        if not proven:
            # KRPC's token idea: nothing is stored for an address that has not shown it
            # receives our datagrams; the reply is smaller than the request.
            answer = wire.Reply(query.tid, token=token)
            self.rpc.reply(addr, answer, request_size=size, proven=False)
            return
        if not self.held(query.author):
            error = wire.ErrorMessage(query.tid, wire.ERROR_NOT_HELD, "author not held here")
            self.rpc.reply(addr, error, request_size=size, proven=True)
            return
        outcome = self.table.add(query.author, addr, now)
        if outcome in (Added.ADDED, Added.RENEWED):
            if outcome is Added.ADDED:
                log.info("%s:%d subscribed to %s", *addr, query.author.hex()[:16])
            reply = wire.Reply(
                query.tid, token=token, ttl=self.table.limits.ttl, hops=self.hops(query.author)
            )
            self.rpc.reply(addr, reply, request_size=size, proven=True)
            return
        self.rpc.refusals.note(f"a subscription ({outcome.value})", addr, now)
        error = wire.ErrorMessage(query.tid, wire.ERROR_FULL, outcome.value)
        self.rpc.reply(addr, error, request_size=size, proven=True)

    def on_unsubscribe(self, query: wire.Unsubscribe, addr: Address, size: int) -> None:
        """Drop a subscription; only the address that holds it (shown by its token) may."""
        now = self.clock()
        if not self.tokens.valid(query.token, addr, now):
            self.rpc.refusals.note("an unsubscription without a valid token", addr, now)
            return
        if self.table.remove(query.author, addr):
            log.info("%s:%d unsubscribed from %s", *addr, query.author.hex()[:16])
        self.rpc.reply(addr, wire.Reply(query.tid), request_size=size, proven=True)

    def push(self, item: MutableItem, hops: int, exclude: Address | None = None) -> int:
        """Send ``item`` to every live subscriber of its author but ``exclude``; return how many."""
        targets = self.table.targets(item.public_key, self.clock(), exclude)
        for addr in targets:
            self.rpc.send(addr, wire.Push(os.urandom(2), item, hops))
        return len(targets)

    def drop_author(self, author: bytes) -> None:
        """Forget every subscriber of ``author`` (no longer held)."""
        self.table.drop_author(author)

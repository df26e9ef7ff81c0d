"""Relaying new heads: duplicate suppression, verification of pushes, the per-author rate.

Each node relays each head of an author at most once (``SeenHeads``), so cycles in the tree cost
one dropped copy, never a loop; a head is verified (BEP 44 signature) before it is relayed or
offered. Relays of one author are rate-limited; a head held back by the limit is sent when the
bucket refills if it is still the newest (a head covers every older post, so only the newest
matters and nothing is lost).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable

from swarmfeed.core.bep44 import MutableItem, verify_item
from swarmfeed.core.push import wire
from swarmfeed.core.push.dedup import Seen, SeenHeads
from swarmfeed.core.push.ratelimit import KeyedLimiter
from swarmfeed.errors import InvalidInput
from swarmfeed.push.holder import Holder
from swarmfeed.push.rpc import Refusals
from swarmfeed.push.udp import Address

log = logging.getLogger("swarmfeed.push")


class Relay:
    """Decides what a pushed head is worth and sends new heads on to our subscribers."""

    def __init__(
        self,
        holder: Holder,
        refusals: Refusals,
        *,
        own_key: bytes,
        clock: Callable[[], float],
        rate: float,
        burst: float,
    ) -> None:
        self.holder = holder
        self.refusals = refusals
        self.own_key = own_key
        self.clock = clock
        self.rate = rate
        self.seen = SeenHeads()
        self.counts: collections.Counter[str] = collections.Counter()
        self._limit: KeyedLimiter[bytes] = KeyedLimiter(rate, burst)
        self._held_back: dict[bytes, tuple[MutableItem, int, Address | None]] = {}

    def remember(self, item: MutableItem) -> None:
        """Note a head already held (e.g. stored before a restart): older pushes are stale."""
        self.seen.record(item.public_key, item.seq, item.value)

    def forget(self, author: bytes) -> None:
        """Drop what is known of ``author`` (unfollowed)."""
        self.seen.forget(author)
        self._held_back.pop(author, None)

    def new_head(self, item: MutableItem, hops: int) -> None:
        """Send a head learned here (signed by us, or stored after a poll) unless already sent."""
        if self.seen.record(item.public_key, item.seq, item.value):
            self.send(item, hops, None)

    def take(self, push: wire.Push, addr: Address) -> Seen | None:
        """Judge a push from a parent; a new verified head is relayed. None: refused (logged)."""
        item, now = push.item, self.clock()
        author = item.public_key
        verdict = self.seen.judge(author, item.seq, item.value)
        if verdict is Seen.OLDER:
            self.refusals.note("a replayed or outdated head", addr, now, f"seq {item.seq}")
            return None
        if verdict is Seen.DUPLICATE:
            self.counts["duplicate"] += 1
            return verdict
        try:
            verify_item(item)
        except InvalidInput as exc:
            self.refusals.note("a forged head", addr, now, str(exc))
            return None
        if verdict is Seen.CONFLICT:
            self.refusals.note("a second head at the same seq", addr, now, f"seq {item.seq}")
            return None
        self.seen.record(author, item.seq, item.value)
        self.counts["received"] += 1
        self.send(item, push.hops + 1, addr)
        return verdict

    def send(self, item: MutableItem, hops: int, source: Address | None) -> None:
        """Push ``item`` to our subscribers of its author but ``source``, within the rate."""
        if hops >= wire.MAX_HOPS:
            return
        author = item.public_key
        if not self._limit.allow(author, self.clock()):
            first = author not in self._held_back
            self._held_back[author] = (item, hops, source)
            if first:
                asyncio.get_running_loop().call_later(1.0 / self.rate, self._release, author)
            return
        sent = self.holder.push(item, hops, source)
        if author == self.own_key:
            self.counts["own"] += sent
            log.info("pushed our head seq %d to %d subscribers", item.seq, sent)

    def _release(self, author: bytes) -> None:
        held = self._held_back.pop(author, None)
        if held is not None and held[0].seq == self.seen.newest(author):
            self.send(*held)

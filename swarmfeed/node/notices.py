"""Sending notices: a durable outbox delivered over the push channel (protocol.md §11.8).

A notice goes to a node found at the recipient's rendezvous (§11.2). The first query without a
token is answered with a token only; the second, with it, is answered with the recipient
author's signed acknowledgement (the only proof that the author's own node took it), error 242
(a holder that is not the author's node: ask the next one), 243 (busy: later) or 244 (refused:
never again). Unacknowledged notices are retried 1 minute after, doubling to an hour, for a week.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable

from swarmfeed.core.identity import KeyPair
from swarmfeed.core.notices import make_notice, next_attempt, verify_ack
from swarmfeed.core.posts import SignedPost
from swarmfeed.core.push import wire
from swarmfeed.errors import InvalidInput, SwarmfeedError
from swarmfeed.push.rendezvous import Rendezvous
from swarmfeed.push.rpc import ChannelRpc
from swarmfeed.push.udp import Address
from swarmfeed.store.database import Database
from swarmfeed.store.outbox import ACKED, EXPIRED, PENDING, REFUSED, OutboxRow

log = logging.getLogger("swarmfeed.notices")

MAX_HOLDERS_ASKED = 8
"""Nodes at the recipient's rendezvous one delivery attempt tries."""
BATCH = 16
"""Notices one round of the loop delivers at once."""


class NoticeOutbox:
    """Queues notices to other authors and delivers them until acknowledged."""

    def __init__(
        self,
        keys: KeyPair,
        db: Database,
        rpc: ChannelRpc,
        rendezvous: Rendezvous,
        clock: Callable[[], float],
    ) -> None:
        self.keys = keys
        self.db = db
        self.rpc = rpc
        self.rendezvous = rendezvous
        self.clock = clock
        self._wake = asyncio.Event()

    def queue(
        self,
        recipient: bytes,
        kind: str,
        entry: SignedPost,
        post: bytes | None,
        *,
        sealed: bytes | None = None,
    ) -> bool:
        """Queue a notice about our log entry ``entry`` to ``recipient``; False if not owed.

        ``sealed`` is the like an unlike takes back (a like carries its own).
        """
        if recipient == self.keys.public_key or self.db.blocks.blocked(recipient.hex()):
            return False
        try:
            notice = make_notice(
                self.keys,
                recipient,
                kind,
                entry.post.seq,
                entry.post.created,
                post=post,
                sealed=sealed or entry.post.sealed,
            )
        except InvalidInput as exc:
            log.warning("no %s notice to %s: %s", kind, recipient.hex()[:16], exc)
            return False
        now = self.clock()
        row = OutboxRow(
            notice.id, recipient.hex(), kind, notice.encode(), now, now, 0, PENDING, None
        )
        added = self.db.outbox.add(row)
        self._wake.set()
        return added

    async def run(self) -> None:
        """Deliver due notices forever (a supervised task)."""
        while True:
            self._wake.clear()
            due = self.db.outbox.due(self.clock(), BATCH)
            await asyncio.gather(*(self.deliver(row) for row in due))
            if len(due) == BATCH:
                continue
            following = self.db.outbox.next_due()
            wait = None if following is None else max(0.0, following - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def deliver(self, row: OutboxRow) -> str:
        """Try to deliver one notice now; record and return its state."""
        recipient = bytes.fromhex(row.recipient)
        detail = "no node of the author answered"
        try:
            found = await self.rendezvous.meet(recipient, None)
            holders = list(found.holders)[:MAX_HOLDERS_ASKED]
        except (SwarmfeedError, OSError) as exc:
            holders, detail = [], f"rendezvous lookup failed: {exc}"
        for addr in holders:
            outcome = await self._offer(addr, recipient, row.notice)
            if outcome in (ACKED, REFUSED):
                self.db.outbox.update(row.id, outcome, self.clock(), row.tries + 1, None)
                log.info("%s notice to %s: %s", row.kind, row.recipient[:16], outcome)
                return outcome
        tries = row.tries + 1
        due = next_attempt(tries, row.first_sent, self.clock())
        state = PENDING if due is not None else EXPIRED
        self.db.outbox.update(row.id, state, due or self.clock(), tries, detail)
        return state

    async def _offer(self, addr: Address, recipient: bytes, notice: bytes) -> str | None:
        """Send the notice to ``addr`` (getting a token first); return ACKED, REFUSED or None."""
        token: bytes | None = None
        for _ in range(2):
            query = functools.partial(
                wire.NoticeQuery, recipient=recipient, notice=notice, token=token
            )
            answer = await self.rpc.request(addr, query)
            if isinstance(answer, wire.ErrorMessage):
                return REFUSED if answer.code == wire.ERROR_REFUSED else None
            if not isinstance(answer, wire.Reply):
                return None
            if answer.ack is not None:
                try:
                    verify_ack(recipient, notice, answer.ack)
                except InvalidInput:
                    log.warning("%s:%d answered a notice with a forged ack", *addr)
                    return None
                return ACKED
            if answer.token is None or token is not None:
                return None
            token = answer.token
        return None

"""Receiving notices (protocol.md §11.8): judge at once, acknowledge, then fetch the entry.

``NoticeInbox.take`` runs for every ``notice`` query that reached our author's node with a valid
token: it checks the notice's signature and recipient, the sender's block, the policy
("everyone" or "followed": only authors we follow), the rates per sender key and per IP, and
the bounded queue. A like is opened and counted at once; a reply, repost or mention is
acknowledged and its entry fetched afterwards: only the sender's page that holds ``seq``, at
most ``MAX_PAGES_BACK`` pages below the sender's head (each page torrent at most 8 MiB, §5), is
fetched, verified against the head's SHA-256 chain and dropped after reading.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from swarmfeed.core import kinds
from swarmfeed.core import notices as n
from swarmfeed.core.feed import PAGE_CAPACITY, FeedPage, decode_head_value
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.likes import open_like
from swarmfeed.core.posts import SignedPost, verify_post
from swarmfeed.core.push import wire
from swarmfeed.dht.client import DhtClient
from swarmfeed.errors import InvalidInput, SwarmfeedError
from swarmfeed.node.pagereader import PageReader
from swarmfeed.node.social import SocialEffects
from swarmfeed.store.database import Database
from swarmfeed.store.foreign import NOTICE

log = logging.getLogger("swarmfeed.notices")

EVERYONE = "everyone"
FOLLOWED = "followed"
MAX_PAGES_BACK = 2
"""Pages of the sender's log one notice may make us fetch (the head's page and one before)."""
MAX_QUEUED = 64
"""Notices waiting for their entry; more are answered busy."""
PARALLEL_FETCHES = 4
HEAD_RETRIES = 6
FIRST_HEAD_RETRY = 1.0
PAGE_RETRIES = 2
"""Head lookups again after a page the head named did not arrive (its author replaced it)."""
"""A head missing or not reaching the notice's entry yet is asked again after 1, 2, 4, 8, 16
and 32 s (a sender's first post: its head may not be in the DHT when the notice arrives)."""
PER_SENDER = 30
PER_ADDRESS = 60
RATE_WINDOW = 3600.0
"""Notices taken per sender key and per IP address within this many seconds."""


class HeadBehind(InvalidInput):
    """The sender's head found in the DHT does not reach the entry the notice names (yet)."""


@dataclass(frozen=True)
class Refusal:
    """Why a notice is not taken, with the channel error code to answer."""

    code: int
    reason: str


class _Window:
    """Counts events per key within a sliding window (bounded number of keys)."""

    def __init__(self, limit: int, window: float, max_keys: int = 4096) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def allow(self, key: str, now: float) -> bool:
        times = [t for t in self._seen.pop(key, []) if now - t < self.window]
        allowed = len(times) < self.limit
        if allowed:
            times.append(now)
        self._seen[key] = times
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return allowed


class NoticeInbox:
    """Takes notices for our author and stores what they lead to."""

    def __init__(
        self,
        keys: KeyPair,
        db: Database,
        effects: SocialEffects,
        pages: PageReader,
        dht: DhtClient,
        clock: Callable[[], float],
        *,
        policy: str = EVERYONE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys = keys
        self.db = db
        self.effects = effects
        self.pages = pages
        self.dht = dht
        self.clock = clock
        self.policy = policy
        self.monotonic = monotonic
        self._senders = _Window(PER_SENDER, RATE_WINDOW)
        self._addresses = _Window(PER_ADDRESS, RATE_WINDOW)
        self._queue: asyncio.Queue[n.Notice] = asyncio.Queue(MAX_QUEUED)
        self.counts: dict[str, int] = {"taken": 0, "refused": 0, "busy": 0, "stored": 0}

    def take(self, data: bytes, host: str) -> bytes | Refusal:
        """Judge a notice's bytes from ``host``; return our author's ack or why not."""
        verdict = self._judge(data, host)
        if isinstance(verdict, Refusal):
            self.counts["busy" if verdict.code == wire.ERROR_BUSY else "refused"] += 1
            log.info("notice from %s refused: %s", host, verdict.reason)
            return verdict
        self.counts["taken"] += 1
        return n.sign_ack(self.keys, data)

    def _judge(self, data: bytes, host: str) -> n.Notice | Refusal:
        try:
            notice = n.decode_notice(data)
            n.verify_notice(notice)
        except InvalidInput as exc:
            return Refusal(wire.ERROR_REFUSED, f"invalid notice: {exc}")
        if notice.recipient != self.keys.public_key:
            return Refusal(wire.ERROR_REFUSED, "the notice is for another author")
        sender = notice.sender.hex()
        if self.db.blocks.blocked(sender):
            return Refusal(wire.ERROR_REFUSED, "the sender is blocked")
        if self.policy == FOLLOWED and not self.db.follows.contains(sender):
            return Refusal(wire.ERROR_REFUSED, "only notices from followed authors are taken")
        now = self.monotonic()
        if not self._senders.allow(sender, now) or not self._addresses.allow(host, now):
            return Refusal(wire.ERROR_BUSY, "too many notices from this sender")
        if notice.kind in n.SEALED_KINDS:
            return self._like(notice)
        if self._queue.full() or self.db.inbox.count() >= MAX_QUEUED:
            return Refusal(wire.ERROR_BUSY, "too many notices waiting")
        # Kept before the ack goes out: a restart fetches the entry all the same.
        self.db.inbox.add(hashlib.sha256(data).hexdigest(), data, int(self.clock()))
        self._queue.put_nowait(notice)
        return notice

    def _like(self, notice: n.Notice) -> n.Notice | Refusal:
        assert notice.sealed is not None
        try:
            like = open_like(self.keys, notice.sealed)
        except InvalidInput as exc:
            return Refusal(wire.ERROR_REFUSED, f"the sealed like does not open: {exc}")
        if like.liker != notice.sender:
            return Refusal(wire.ERROR_REFUSED, "the like names another liker")
        now = int(self.clock())
        if notice.kind == n.UNLIKE:
            self.db.likes.remove(like.post_id, like.liker.hex(), like.created)
        elif not self.effects.count_like(
            like.post_id, like.liker.hex(), like.created, None, "notice", now
        ):
            log.info("like of %s from %s: known already", like.post_id[:16], notice.sender.hex())
        return notice

    # fetching the entry ----------------------------------------------------------------------

    async def run(self) -> None:
        """Fetch the entries of taken notices, a few at a time (a supervised task)."""
        slots = asyncio.Semaphore(PARALLEL_FETCHES)
        tasks: set[asyncio.Task[None]] = set()
        for data in self.db.inbox.waiting(MAX_QUEUED):  # taken before the last stop
            try:
                self._queue.put_nowait(n.decode_notice(data))
            except (InvalidInput, asyncio.QueueFull):
                self.db.inbox.remove(hashlib.sha256(data).hexdigest())
        try:
            while True:
                notice = await self._queue.get()
                await slots.acquire()
                task = asyncio.create_task(self._fetch_one(notice))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _task: slots.release())
        finally:
            for task in tasks:
                task.cancel()

    async def _fetch_one(self, notice: n.Notice) -> None:
        try:
            await self._fetch_with_retries(notice)
        except TimeoutError:
            log.info("the entry of a notice from %s did not arrive", notice.sender.hex()[:16])
        except (SwarmfeedError, OSError) as exc:
            log.info("the entry of a notice from %s: %s", notice.sender.hex()[:16], exc)
        self.db.inbox.remove(hashlib.sha256(notice.encode()).hexdigest())

    async def _fetch_with_retries(self, notice: n.Notice) -> SignedPost | None:
        """Fetch the entry; a head that does not reach it yet is asked again a few times.

        A notice is sent as soon as the entry is published, often before the sender's new head
        has reached the DHT nodes we ask.
        """
        delay = FIRST_HEAD_RETRY
        replaced = 0
        for _ in range(HEAD_RETRIES):
            try:
                return await self.fetch_entry(notice)
            except HeadBehind:
                await asyncio.sleep(delay)  # back-off while the sender's head spreads
                delay *= 2
            except TimeoutError:
                # The page the head named may be gone: its author replaced it with a newer
                # entry (entries often come in quick succession). Ask for the head again.
                replaced += 1
                if replaced > PAGE_RETRIES:
                    raise
        return await self.fetch_entry(notice)

    async def fetch_entry(self, notice: n.Notice) -> SignedPost | None:
        """Fetch, verify and store the sender's entry ``notice.seq``; return it if it fits."""
        sender = notice.sender
        result = await self.dht.get_mutable(sender)
        if result.item is None:
            raise HeadBehind("the sender's head is not in the DHT (yet)")
        pointer = decode_head_value(result.item.value)
        if notice.seq >= pointer.count:
            raise HeadBehind("the notice names an entry beyond the sender's head")
        infohash, expected = pointer.infohash, pointer.sha256
        wanted = notice.seq // PAGE_CAPACITY
        for _ in range(MAX_PAGES_BACK):
            page = await self.pages.read(sender, infohash.hex(), expected)
            if page.index == wanted:
                return self._store(notice, page)
            if page.index < wanted or page.prev is None:
                break
            infohash, expected = page.prev, page.prevh
        raise InvalidInput(f"entry {notice.seq} is more than {MAX_PAGES_BACK} pages back")

    def _store(self, notice: n.Notice, page: FeedPage) -> SignedPost | None:
        entry = next((p for p in page.posts if p.post.seq == notice.seq), None)
        if entry is None:
            raise InvalidInput(f"the sender's page lacks entry {notice.seq}")
        verify_post(entry, notice.sender)
        post = entry.post
        own = self.keys.public_key
        fits = {
            n.REPLY: post.kind == kinds.REPLY
            and post.reply_to is not None
            and post.reply_to.author == own
            and post.reply_to.id == notice.post,
            n.REPOST: post.kind == kinds.REPOST
            and post.original is not None
            and post.original.post.author == own
            and post.original.raw_id == notice.post,
            n.MENTION: own in post.mentions,
        }.get(notice.kind, False)
        if not fits or not post.supported:
            raise InvalidInput(f"entry {notice.seq} is not the {notice.kind} the notice names")
        now = int(self.clock())
        self.db.foreign.add(entry, now, NOTICE, None)
        target = notice.post.hex() if notice.post is not None else entry.id
        self.db.notifications.add(
            notice.kind, notice.sender.hex(), target, entry.id, post.created, now
        )
        self.counts["stored"] += 1
        log.info("%s from %s stored", notice.kind, notice.sender.hex()[:16])
        return entry

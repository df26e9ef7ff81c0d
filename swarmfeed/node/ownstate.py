"""Where the own log stands: every durable record of it, the DHT's view, the index's copy.

``OwnLogState.plan`` feeds what the seq file, the signed head on disk, the index and the DHT
say into core/authoring.plan_publication. ``check_dht`` looks our head up (retried with
back-off until some node answers) so a lost seq record can never make us sign below a head
signed before, and fetches our own pages back from followers when the DHT shows more posts
than this node holds. ``merge_index`` makes the own log and the index hold the same posts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from swarmfeed.core.authoring import HeadSeen, OwnLogFacts, PublishPlan, plan_publication
from swarmfeed.core.bep44 import MutableItem, verify_item
from swarmfeed.core.feed import decode_head_value
from swarmfeed.core.posts import SignedPost
from swarmfeed.dht.client import DhtClient
from swarmfeed.errors import InvalidInput, SwarmfeedError
from swarmfeed.node.ownlog import OwnLog
from swarmfeed.store.database import Database

log = logging.getLogger("swarmfeed.ownstate")

FIRST_RETRY = 2.0
MAX_RETRY = 60.0

FetchOwnLog = Callable[[MutableItem], Awaitable[None]]
"""Fetches our own pages named by a head found in the DHT (followers seed them)."""


class OwnLogState:
    """Combines the own log's durable records with the DHT's view of our head."""

    def __init__(
        self,
        own_log: OwnLog,
        db: Database,
        dht: DhtClient,
        clock: Callable[[], float],
        index_posts: Callable[[list[SignedPost]], None],
        fetch_own_log: FetchOwnLog | None = None,
    ) -> None:
        self.own_log = own_log
        self.author = own_log.keys.public_key.hex()
        self.db = db
        self.dht = dht
        self.clock = clock
        self.index_posts = index_posts
        self.fetch_own_log = fetch_own_log
        self.dht_head: MutableItem | None = None
        self.dht_answered = False

    def facts(self) -> OwnLogFacts:
        """Return what every durable record says now."""
        db_head = self.db.feeds.head(self.author)
        return OwnLogFacts(
            seq_file=self.own_log.seq_file(),
            head_file=seen(self.own_log.head()),
            database=HeadSeen(db_head.seq, db_head.count) if db_head else None,
            dht=seen(self.dht_head),
            dht_answered=self.dht_answered,
            posts_written=self.own_log.posts_written(),
        )

    def plan(self) -> PublishPlan:
        """Return where the own log stands (raises NotReady/Blocked with the reason)."""
        return plan_publication(self.facts())

    def merge_index(self) -> None:
        """Make the own log and the index hold the same signed posts (either may have lost some).

        Runs before the start-up reconciliation, so media of posts written ahead but not yet
        in the index count as referenced.
        """
        written = self.own_log.written_seqs()
        stored = self.db.posts.accepted_ids(self.author)
        for seq in sorted(set(stored) - written):
            found = self.db.posts.get(stored[seq])
            if found is not None:
                self.own_log.write_post(found.signed)
        missing = [self.own_log.post(seq) for seq in sorted(written - set(stored))]
        posts = [post for post in missing if post is not None]
        if posts:
            self.db.posts.add(posts, int(self.clock()))
            self.index_posts(posts)
        if set(stored) - written or posts:
            log.info(
                "own log and index merged: %d posts rewritten to feed/posts, %d to the index",
                len(set(stored) - written),
                len(posts),
            )

    async def check_dht(self) -> bool:
        """Look our head up until some node answers; return True if it changed anything."""
        delay = FIRST_RETRY
        while True:
            result = await self.dht.get_mutable(self.own_log.keys.public_key)
            if result.responders > 0:
                break
            log.info("no DHT node answered the lookup of our head; retrying in %.0f s", delay)
            await asyncio.sleep(delay)  # retry back-off while the DHT is unreachable
            delay = min(delay * 2, MAX_RETRY)
        item = result.item
        self.dht_answered = True
        if item is None:
            return True
        verify_item(item)  # get_mutable verified it; a head we trust is checked twice
        self.dht_head = item
        local = self.own_log.seq_file()
        if local is None or item.seq > local:
            log.warning(
                "the DHT holds our head seq %d, above the local record %s: continuing above it",
                item.seq,
                local,
            )
        count = decode_head_value(item.value).count
        if count > self.own_log.posts_written():
            if self.fetch_own_log is None:
                raise SwarmfeedError("posts of our feed are missing and cannot be fetched")
            log.warning("fetching %d posts of our own feed back from the swarm", count)
            await self.fetch_own_log(item)
            self.merge_index()
        return True


def seen(item: MutableItem | None) -> HeadSeen | None:
    """Return the seq and post count of a head of ours, or None."""
    if item is None:
        return None
    try:
        return HeadSeen(item.seq, decode_head_value(item.value).count)
    except InvalidInput:
        return HeadSeen(item.seq, 0)

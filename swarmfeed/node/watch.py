"""Watching the authors of reposted originals we hold, for their deletes (protocol.md §3.2).

A node shows (and seeds the media of) originals that followed authors reposted, by authors it
does not follow. When such an author deletes the original, the node must hide it and stop
seeding it too. The watch reads the author's head from the DHT on each round and, when its seq
moved, reads the newest ``PAGES_PER_CHECK`` pages (read once, never seeded) for deletes of
posts it holds. Cost grows with the watched authors, not with their posts.
"""

from __future__ import annotations

import asyncio
import logging

from swarmfeed.core import kinds
from swarmfeed.core.feed import decode_head_value
from swarmfeed.core.posts import verify_post
from swarmfeed.dht.client import DhtClient
from swarmfeed.errors import InvalidInput, SwarmfeedError
from swarmfeed.node.pagereader import PageReader
from swarmfeed.node.social import SocialEffects
from swarmfeed.store.database import Database

log = logging.getLogger("swarmfeed.watch")

PAGES_PER_CHECK = 2


class OriginWatch:
    """Checks the logs of reposted originals' authors for deletes of what we hold."""

    def __init__(
        self,
        db: Database,
        effects: SocialEffects,
        pages: PageReader,
        dht: DhtClient,
        interval: float,
    ) -> None:
        self.db = db
        self.effects = effects
        self.pages = pages
        self.dht = dht
        self.interval = interval
        self._seen: dict[str, int] = {}

    async def run(self) -> None:
        """Check every watched author each ``interval`` seconds (a supervised task)."""
        while True:
            self.prune()
            for author in sorted(self.watched()):
                try:
                    await self.check(author)
                except (InvalidInput, TimeoutError) as exc:
                    log.info("watch of %s: %s", author[:16], exc)
                except (SwarmfeedError, OSError) as exc:
                    log.warning("watch of %s failed: %s", author[:16], exc)
            await asyncio.sleep(self.interval)  # periodic timer

    def prune(self) -> int:
        """Forget reposted originals no stored repost embeds any more (e.g. after an unfollow)."""
        gone = self.db.foreign.unreferenced()
        for stored in gone:
            media = stored.signed.post.media
            if media is not None and not self.db.posts.get(stored.signed.id):
                row = self.db.media.get(media.infohash.hex())
                if row is not None and row.post_id == stored.signed.id:
                    self.effects.drop_media(media.infohash.hex(), "no repost holds it any more")
        self.db.foreign.remove([s.signed.id for s in gone])
        return len(gone)

    def watched(self) -> set[str]:
        """Return the authors of held reposted originals that we do not follow."""
        followed = set(self.db.follows.authors())
        blocked = {row.author for row in self.db.blocks.rows() if row.kind == "block"}
        return self.db.foreign.authors() - followed - blocked

    async def check(self, author: str) -> int:
        """Read ``author``'s newest pages if its head moved; apply deletes; return how many."""
        key = bytes.fromhex(author)
        result = await self.dht.get_mutable(key, newer_than=self._seen.get(author))
        item = result.item
        if item is None or item.seq <= self._seen.get(author, -1):
            return 0
        pointer = decode_head_value(item.value)
        infohash, sha256 = pointer.infohash, pointer.sha256
        held = self.db.foreign.ids()
        applied = 0
        for _ in range(PAGES_PER_CHECK):
            page = await self.pages.read(key, infohash.hex(), sha256)
            for signed in page.posts:
                post = signed.post
                target = post.target.hex() if post.target is not None else None
                if post.kind == kinds.DELETE and post.supported and target in held:
                    verify_post(signed, key)
                    self.effects.apply(signed)
                    applied += 1
            if page.prev is None:
                break
            infohash, sha256 = page.prev, page.prevh
        self._seen[author] = item.seq
        return applied

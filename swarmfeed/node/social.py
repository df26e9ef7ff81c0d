"""What stored posts of the version 2 kinds do (protocol.md §3.2), applied once each.

The index marks a stored post whose kind acts on other data as *pending*; ``SocialEffects``
applies it and clears the mark, so a crash between storing and applying applies it at the next
start. Effects: a delete hides its target (a tombstone), stops seeding its media and removes the
files; a repost keeps its verified original (not followed: a foreign post) and fetches and seeds
the original's media; a like addressed to our author is opened and counted; a profile entry
replaces the author's older profile; replies, reposts and mentions of our posts become
notifications. Nothing of a blocked author is kept, fetched or seeded, also inside reposts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from swarmfeed.core import kinds
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.likes import open_like
from swarmfeed.core.posts import SignedPost
from swarmfeed.errors import InvalidInput
from swarmfeed.node.mediaqueue import MediaQueue
from swarmfeed.node.torrents import TorrentShelf
from swarmfeed.store.database import Database, MediaState
from swarmfeed.store.foreign import REPOST
from swarmfeed.store.likes import LikeRow
from swarmfeed.store.profiles import ProfileRow

log = logging.getLogger("swarmfeed.social")

DELETED = "deleted by its author"
BLOCKED = "its author is blocked"


class SocialEffects:
    """Applies the effects of stored posts (deletes, reposts, likes, profiles, notifications)."""

    def __init__(
        self,
        keys: KeyPair,
        db: Database,
        shelf: TorrentShelf,
        media: MediaQueue,
        clock: Callable[[], float],
    ) -> None:
        self.keys = keys
        self.author = keys.public_key.hex()
        self.db = db
        self.shelf = shelf
        self.media = media
        self.clock = clock

    def apply_pending(self) -> int:
        """Apply every stored post whose effects are pending; return how many."""
        done = 0
        while batch := self.db.posts.pending():
            for stored in batch:
                try:
                    self.apply(stored.signed)
                except InvalidInput as exc:  # a peer's data that acts on nothing
                    log.info("post %s has no effect: %s", stored.signed.id[:16], exc)
            self.db.posts.applied([stored.signed.id for stored in batch])
            done += len(batch)
        return done

    def posts_stored(self, _author: str, _posts: Sequence[SignedPost]) -> None:
        """Apply what posts just stored (a page of a followed author, or our own) do."""
        self.apply_pending()

    def apply(self, signed: SignedPost) -> None:
        """Apply one stored post (of a followed author or our own)."""
        post = signed.post
        author = post.author.hex()
        now = int(self.clock())
        if post.media is not None and self.db.tombstones.deleted(signed.id, author):
            self.drop_media(post.media.infohash.hex(), DELETED)
        if post.kind == kinds.DELETE and post.target is not None:
            self._delete(post.target.hex(), author, signed.id)
        elif post.kind == kinds.REPOST:
            self._repost(signed, author, now)
        elif post.kind == kinds.LIKE and post.sealed is not None and author != self.author:
            self._like(signed, author, now)
        elif post.kind == kinds.PROFILE and post.profile is not None:
            info = post.profile
            self.db.profiles.set(
                ProfileRow(
                    author,
                    info.name,
                    info.bio,
                    post.seq,
                    info.links,
                    info.pay.kind if info.pay else None,
                    info.pay.address if info.pay else None,
                    signed.id if post.media is not None else None,
                )
            )
        elif (
            post.kind == kinds.REPLY
            and post.reply_to is not None
            and post.reply_to.author == self.keys.public_key
            and author != self.author
        ):
            self._notify(kinds.REPLY, author, post.reply_to.hex_id, signed, now)
        if self.keys.public_key in post.mentions and author != self.author:
            self._notify("mention", author, signed.id, signed, now)

    # kinds -----------------------------------------------------------------------------------

    def _delete(self, target: str, author: str, by_post: str) -> None:
        self.db.tombstones.add(target, author, by_post)
        held = self.db.find_post(target)
        if held is not None and held.signed.post.author.hex() == author:
            media = held.signed.post.media
            if media is not None:
                self.drop_media(media.infohash.hex(), DELETED)
        # A deleted like is an unlike; a deleted reply or repost leaves our notifications.
        self.db.likes.remove_entry(target, author)
        self.db.notifications.remove_entry(target, author)
        log.info("post %s deleted by %s", target[:16], author[:16])

    def _repost(self, signed: SignedPost, author: str, now: int) -> None:
        original = signed.post.original
        if original is None or not original.post.supported:
            return
        origin = original.post.author.hex()
        if self.db.blocks.blocked(origin):
            return  # never fetched, seeded or shown (protocol.md §3.2, blocking)
        if origin == self.author:
            if author != self.author:
                self._notify(kinds.REPOST, author, original.id, signed, now)
            return
        if not self.db.follows.contains(origin):
            self.db.foreign.add(original, now, REPOST, author)
        media = original.post.media
        if media is None:
            return
        if self.db.tombstones.deleted(original.id, origin):
            self.drop_media(media.infohash.hex(), DELETED)
            return
        # The load-spreading point: whoever holds a repost fetches and seeds the original media.
        self.media.offer(author, [original], now)

    def _like(self, signed: SignedPost, author: str, now: int) -> None:
        assert signed.post.sealed is not None
        try:
            like = open_like(self.keys, signed.post.sealed)
        except InvalidInput:
            return  # sealed to someone else: nobody but that author can tell what it is
        if like.liker != signed.post.author:
            log.warning("like entry %s of %s names another liker", signed.id[:16], author[:16])
            return
        self.count_like(like.post_id, author, like.created, signed.id, "log", now)

    def count_like(
        self, post_id: str, liker: str, created: int, entry_id: str | None, source: str, now: int
    ) -> bool:
        """Count ``liker``'s like of our post ``post_id``; return False if it is not ours."""
        liked = self.db.posts.get(post_id)
        if liked is None or liked.signed.post.author != self.keys.public_key:
            return False
        if self.db.blocks.blocked(liker):
            return False
        added = self.db.likes.add(LikeRow(post_id, liker, created, entry_id, source), now)
        if added:
            self.db.notifications.add(kinds.LIKE, liker, post_id, entry_id or "", created, now)
        return added

    def _notify(self, kind: str, sender: str, post_id: str, entry: SignedPost, now: int) -> None:
        if self.db.blocks.blocked(sender):
            return
        self.db.notifications.add(kind, sender, post_id, entry.id, entry.post.created, now)

    # media -------------------------------------------------------------------------------------

    def drop_media(self, infohash: str, why: str) -> None:
        """Stop fetching and seeding a bundle and delete its files (crash-safe: row first).

        The row is marked refused before the torrent goes, so a crash in between leaves a
        torrent the reconciler removes at the next start (node/reconcile.py).
        """
        row = self.db.media.get(infohash)
        if row is not None and row.state is not MediaState.REFUSED:
            self.db.media.set_state(infohash, MediaState.REFUSED, int(self.clock()), reason=why)
        self.media.cancel(infohash)
        self.shelf.discard(infohash)
        self.db.torrents.remove(infohash)
        log.info("media %s removed: %s", infohash[:16], why)

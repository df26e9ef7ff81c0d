"""The social services the API, the pages and the CLI use: publish an action, then tell others.

node/socialactions.py turns an action into a draft, the publisher signs and publishes it,
node/social.py applies what the new entry does here, and node/notices.py queues a notice to
the author it concerns (who may not follow us).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from swarmfeed.core import kinds
from swarmfeed.core import notices as notice_kinds
from swarmfeed.core.drafts import Draft
from swarmfeed.core.posts import SignedPost
from swarmfeed.node.notices import NoticeOutbox
from swarmfeed.node.publisher import Publisher, Upload
from swarmfeed.node.social import BLOCKED, SocialEffects
from swarmfeed.node.socialactions import SocialActions, Thread
from swarmfeed.node.torrents import Progress
from swarmfeed.store.blocks import BLOCK, BlockRow
from swarmfeed.store.database import Database, StoredPost
from swarmfeed.store.notifications import NotificationRow


class Social:
    """Replies, reposts, likes, deletes, profiles, blocks, threads and notifications."""

    def __init__(
        self,
        db: Database,
        actions: SocialActions,
        effects: SocialEffects,
        publisher: Publisher,
        outbox: NoticeOutbox,
        unfollow: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.db = db
        self.actions = actions
        self.effects = effects
        self.publisher = publisher
        self.outbox = outbox
        self._unfollow = unfollow

    def start(self) -> None:
        """Load the blocks and apply what a crash left pending."""
        self.actions.load_blocks()
        self.effects.apply_pending()

    async def publish(
        self,
        draft: Draft,
        uploads: Sequence[Upload] = (),
        progress: Progress | None = None,
    ) -> SignedPost:
        """Publish ``draft`` and queue the notices it owes other authors."""
        signed = await self.publisher.publish(draft, uploads, progress)
        post = signed.post
        if post.kind == kinds.REPLY and post.reply_to is not None:
            self.outbox.queue(post.reply_to.author, notice_kinds.REPLY, signed, post.reply_to.id)
        original = post.original
        if post.kind == kinds.REPOST and original is not None:
            self.outbox.queue(original.post.author, notice_kinds.REPOST, signed, original.raw_id)
        for mentioned in post.mentions:
            self.outbox.queue(mentioned, notice_kinds.MENTION, signed, None)
        return signed

    async def post(
        self,
        text: str,
        uploads: Sequence[Upload] = (),
        progress: Progress | None = None,
        *,
        reply_to: str | None = None,
        repost_of: str | None = None,
    ) -> SignedPost:
        """Publish a post, a reply to ``reply_to`` or a repost (quote) of ``repost_of``."""
        return await self.publish(self.actions.draft(text, reply_to, repost_of), uploads, progress)

    async def like(self, post_id: str) -> SignedPost:
        """Like another author's post: a sealed entry in our log and a notice to the author."""
        draft, liked = self.actions.like_draft(post_id)
        signed = await self.publisher.publish(draft)
        self.actions.liked(liked, signed)
        self.outbox.queue(liked.signed.post.author, notice_kinds.LIKE, signed, None)
        return signed

    async def delete(self, post_id: str) -> SignedPost:
        """Delete one of our posts (or unlike, given a post we liked): publish the tombstone."""
        draft, unliked = self.actions.delete_draft(post_id)
        signed = await self.publisher.publish(draft)
        if unliked is not None:
            recipient = bytes.fromhex(unliked.author)
            self.outbox.queue(recipient, notice_kinds.UNLIKE, signed, None, sealed=unliked.sealed)
        return signed

    async def set_profile(
        self,
        name: str,
        bio: str = "",
        links: Sequence[str] = (),
        pay_kind: str = "",
        pay_address: str = "",
        avatar: Sequence[Upload] = (),
    ) -> SignedPost:
        """Publish a profile entry (the newest wins); ``avatar``: one image."""
        draft = self.actions.profile_draft(name, bio, links, pay_kind, pay_address)
        return await self.publisher.publish(draft, avatar)

    async def set_profile_from_form(
        self, fields: Mapping[str, str], avatar: Sequence[Upload] = ()
    ) -> SignedPost:
        """Publish a profile entry from the editor's form fields (links one per line)."""
        return await self.set_profile(
            fields.get("name", ""),
            fields.get("bio", ""),
            fields.get("links", "").splitlines(),
            fields.get("pay_kind", ""),
            fields.get("pay_address", ""),
            avatar,
        )

    def thread(self, post_id: str) -> Thread:
        """Return a post with its ancestors and replies held here."""
        return self.actions.thread(post_id)

    def notifications(self, limit: int, before: int | None = None) -> list[NotificationRow]:
        """Return notifications, newest first."""
        return self.db.notifications.newest(limit, before)

    def mark_read(self, up_to: int | None = None) -> int:
        """Mark notifications read."""
        return self.db.notifications.mark_read(up_to)

    async def block(self, author: str, kind: str) -> None:
        """Block or mute ``author``; blocking unfollows it and drops what is held of it."""
        self.actions.block(author, kind)
        key = self.db.blocks.rows()
        row = next((r for r in key if r.author == author.strip().lower()), None)
        if row is None or row.kind != BLOCK:
            return
        if self.db.follows.contains(row.author):
            await self._unfollow(row.author)
        self.forget_blocked(row)

    def forget_blocked(self, row: BlockRow) -> None:
        """Drop the foreign posts of a blocked author and the media held for them."""
        held = self.db.foreign.by_author(row.author)
        for stored in held:
            media = stored.signed.post.media
            if media is not None:
                self.effects.drop_media(media.infohash.hex(), BLOCKED)
        self.db.foreign.remove([s.signed.id for s in held])
        for infohash in self.db.media_of_reposted(row.author):
            self.effects.drop_media(infohash, BLOCKED)

    def unblock(self, author: str) -> None:
        """Neither block nor mute ``author`` any more."""
        self.actions.unblock(author)

    def blocks(self) -> list[BlockRow]:
        """Return every blocked or muted author."""
        return self.db.blocks.rows()

    def find(self, post_id: str) -> StoredPost:
        """Return a post this node holds (followed, own or foreign) or raise NotFound."""
        return self.actions.find(post_id)

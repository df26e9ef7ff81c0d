"""What a person does socially through this node: reply, repost, like, delete, profile, block.

Each action becomes a draft the publisher signs into our log (protocol.md §3.2); what the
published entry does here is applied by node/social.py like any other stored post. Actions that
concern another author's post also queue a notice to that author (node/notices.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from swarmfeed.core import kinds
from swarmfeed.core.drafts import Draft
from swarmfeed.core.identity import KEY_BYTES, KeyPair
from swarmfeed.core.kinds import PayAddress, ProfileInfo
from swarmfeed.core.likes import seal_like
from swarmfeed.core.notices import mentioned_authors
from swarmfeed.core.posts import SignedPost
from swarmfeed.errors import InvalidInput, NotFound
from swarmfeed.node.layout import HomeLayout
from swarmfeed.store.blocks import BLOCK, MUTE, BlockRow
from swarmfeed.store.database import Database, StoredPost
from swarmfeed.store.files import atomic_write
from swarmfeed.store.likes import OwnLike

log = logging.getLogger("swarmfeed.social")

MAX_ANCESTORS = 64
"""Parents a thread view walks up at most."""
MAX_THREAD_REPLIES = 500
"""Replies a thread view collects at most (breadth first)."""


@dataclass(frozen=True)
class Thread:
    """A post with the ancestors and the replies this node holds."""

    post: StoredPost
    ancestors: list[StoredPost]
    """Root first."""
    replies: list[StoredPost]
    """Breadth first, oldest first per parent."""


class SocialActions:
    """Builds the drafts of social actions and keeps blocks, likes and notifications."""

    def __init__(
        self,
        keys: KeyPair,
        layout: HomeLayout,
        db: Database,
        clock: Callable[[], float],
    ) -> None:
        self.keys = keys
        self.author = keys.public_key.hex()
        self.blocks_file = layout.home / "blocks.json"
        self.db = db
        self.clock = clock

    # drafts ----------------------------------------------------------------------------------

    def find(self, post_id: str) -> StoredPost:
        """Return a post this node holds (followed, own or foreign) or raise NotFound."""
        stored = self.db.find_post(post_id.strip().lower())
        if stored is None:
            raise NotFound(f"no post with id {post_id}")
        return stored

    def draft(self, text: str, reply_to: str | None = None, repost_of: str | None = None) -> Draft:
        """Return the draft of a post, a reply to ``reply_to`` or a repost of ``repost_of``."""
        mentions = mentioned_authors(text, exclude=self.keys.public_key)
        if reply_to and repost_of:
            raise InvalidInput("a post replies or reposts, not both")
        if reply_to:
            parent = self.find(reply_to).signed
            root = parent.post.root or parent.post.reply_to if parent.post.supported else None
            return Draft(
                text, kinds.REPLY, reply_to=parent.ref, root=root or None, mentions=mentions
            )
        if repost_of:
            original = self.find(repost_of).signed
            if not original.post.supported:
                raise InvalidInput("an unsupported post cannot be reposted")
            if original.post.kind not in kinds.SHOWN_KINDS:
                raise InvalidInput(f"a {original.post.kind} cannot be reposted")
            if original.post.is_plain_repost and original.post.original is not None:
                original = original.post.original  # a repost of a repost shows the original
            return Draft(text, kinds.REPOST, repost=original, mentions=mentions)
        return Draft(text, mentions=mentions)

    def like_draft(self, post_id: str) -> tuple[Draft, StoredPost]:
        """Return the draft of a like of ``post_id`` (sealed to its author) and the post."""
        liked = self.find(post_id)
        post = liked.signed.post
        if post.author == self.keys.public_key:
            raise InvalidInput("a like goes to another author's post")
        if post.kind not in kinds.SHOWN_KINDS or not post.supported:
            raise InvalidInput(f"a {post.kind} cannot be liked")
        if self.db.likes.own(liked.signed.id) is not None:
            raise InvalidInput("this post is liked already")
        created = max(int(self.clock()), 0)
        sealed = seal_like(self.keys, post.author, liked.signed.raw_id, created)
        return Draft(kind=kinds.LIKE, sealed=sealed), liked

    def liked(self, liked: StoredPost, entry: SignedPost) -> None:
        """Remember our published like ``entry`` of ``liked``."""
        assert entry.post.sealed is not None
        self.db.likes.add_own(
            OwnLike(
                liked.signed.id,
                liked.signed.post.author.hex(),
                entry.id,
                entry.post.seq,
                entry.post.sealed,
            )
        )

    def delete_draft(self, post_id: str) -> tuple[Draft, OwnLike | None]:
        """Return the tombstone of our own post ``post_id`` (or of our like of it: an unlike).

        For an unlike, also return the like being taken back (its author is told).
        """
        post_id = post_id.strip().lower()
        own_like = self.db.likes.own(post_id)
        if own_like is not None:
            self.db.likes.remove_own(post_id)
            post_id = own_like.entry_id
        stored = self.db.posts.get(post_id)
        if stored is None:
            raise NotFound(f"no post with id {post_id}")
        if stored.signed.post.author != self.keys.public_key:
            raise InvalidInput("only the author deletes a post")
        if stored.signed.post.kind == kinds.DELETE:
            raise InvalidInput("a delete cannot be deleted")
        if self.db.tombstones.deleted(post_id, self.author):
            raise InvalidInput("this post is deleted already")
        return Draft(kind=kinds.DELETE, target=stored.signed.raw_id), own_like

    def profile_draft(
        self,
        name: str,
        bio: str = "",
        links: Sequence[str] = (),
        pay_kind: str = "",
        pay_address: str = "",
    ) -> Draft:
        """Return the draft of a profile entry (the avatar is its media)."""
        pay = None
        if pay_address.strip():
            pay = PayAddress(pay_kind.strip() or "other", pay_address.strip())
        info = ProfileInfo(name.strip(), bio.strip(), tuple(x for x in links if x.strip()), pay)
        info.validate()
        return Draft(kind=kinds.PROFILE, profile=info)

    # threads ---------------------------------------------------------------------------------

    def thread(self, post_id: str) -> Thread:
        """Return the post, the ancestors this node holds, and the replies it holds."""
        stored = self.find(post_id)
        ancestors: list[StoredPost] = []
        parent = stored.signed.post.reply_to
        seen = {stored.signed.id}
        while parent is not None and len(ancestors) < MAX_ANCESTORS:
            held = self.db.find_post(parent.hex_id)
            if held is None or held.signed.id in seen:
                break
            seen.add(held.signed.id)
            ancestors.append(held)
            parent = held.signed.post.reply_to
        ancestors.reverse()
        replies: list[StoredPost] = []
        frontier = [stored.signed.id]
        while frontier and len(replies) < MAX_THREAD_REPLIES:
            parent_id = frontier.pop(0)
            room = MAX_THREAD_REPLIES - len(replies)
            found = self.db.posts.replies(parent_id, room) + self.db.foreign.replies(
                parent_id, room
            )
            for reply in found:
                if (
                    reply.signed.id in seen
                    or self.db.blocks.kind(reply.signed.post.author.hex()) is not None
                ):
                    continue
                seen.add(reply.signed.id)
                replies.append(reply)
                frontier.append(reply.signed.id)
        return Thread(stored, ancestors, replies[:MAX_THREAD_REPLIES])

    # blocks ----------------------------------------------------------------------------------

    def block(self, author: str, kind: str) -> None:
        """Block (nothing fetched, seeded or shown) or mute (hidden) ``author``."""
        author = _author_key(author)
        if kind not in (BLOCK, MUTE):
            raise InvalidInput("kind is block or mute")
        if author == self.author:
            raise InvalidInput("a node does not block its own author")
        self.db.blocks.set(BlockRow(author, kind, int(self.clock())))
        self._save_blocks()
        if kind == BLOCK:
            self.db.notifications.remove_sender(author)
            self.db.outbox.drop_recipient(author)
        log.info("%sed %s", kind, author[:16])

    def foreign_of(self, author: str) -> list[StoredPost]:
        """Return the foreign posts of ``author`` held here."""
        return self.db.foreign.by_author(author)

    def unblock(self, author: str) -> None:
        """Neither block nor mute ``author`` any more, or raise NotFound."""
        author = _author_key(author)
        if not self.db.blocks.remove(author):
            raise NotFound(f"{author} is neither blocked nor muted")
        self._save_blocks()

    def load_blocks(self) -> None:
        """Make the index hold the blocks of ``blocks.json`` (the index is rebuildable)."""
        if not self.blocks_file.exists():
            self._save_blocks()
            return
        try:
            entries = json.loads(self.blocks_file.read_text("utf-8"))
            rows = [
                BlockRow(_author_key(str(e["author"])), str(e["kind"]), int(e["added"]))
                for e in entries[:100_000]
                if e.get("kind") in (BLOCK, MUTE)
            ]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("blocks.json is unreadable (%s); keeping the index's blocks", exc)
            return
        self.db.blocks.replace(rows)

    def _save_blocks(self) -> None:
        rows = [
            {"author": r.author, "kind": r.kind, "added": r.added} for r in self.db.blocks.rows()
        ]
        atomic_write(self.blocks_file, json.dumps(rows, indent=1).encode())


def _author_key(author: str) -> str:
    """Return a hex author key (64 hex digits, or an author address) in lower case."""
    text = author.strip().lower()
    if text.startswith("magnet:?xs=urn:btpk:"):
        text = text.removeprefix("magnet:?xs=urn:btpk:")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != KEY_BYTES:
        raise InvalidInput("an author is 64 hex digits or an author address")
    return raw.hex()

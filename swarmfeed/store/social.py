"""The social tables' schema and the columns derived from a post's kind (protocol.md §3.2).

Posts and foreign posts index the same facts of a post: its kind, whether this reader supports
it, the post it replies to, the original a repost shows, the target of a delete. They come from
the signed post, so the index stays a view of the logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.core import kinds
from swarmfeed.core.posts import SignedPost

SOCIAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS foreign_posts (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created INTEGER NOT NULL,
    received INTEGER NOT NULL,
    kind TEXT NOT NULL,
    supported INTEGER NOT NULL,
    text TEXT NOT NULL,
    reply_to TEXT,
    reply_author TEXT,
    repost_of TEXT,
    repost_author TEXT,
    media_infohash TEXT,
    raw BLOB NOT NULL,
    source TEXT NOT NULL,
    via TEXT
);
CREATE INDEX IF NOT EXISTS foreign_by_author ON foreign_posts (author);
CREATE INDEX IF NOT EXISTS foreign_by_reply ON foreign_posts (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX IF NOT EXISTS foreign_by_repost ON foreign_posts (repost_of)
    WHERE repost_of IS NOT NULL;
CREATE INDEX IF NOT EXISTS foreign_by_media ON foreign_posts (media_infohash);
CREATE TABLE IF NOT EXISTS tombstones (
    target TEXT NOT NULL,
    author TEXT NOT NULL,
    by_post TEXT NOT NULL,
    PRIMARY KEY (target, author)
);
CREATE TABLE IF NOT EXISTS likes (
    post_id TEXT NOT NULL,
    liker TEXT NOT NULL,
    created INTEGER NOT NULL,
    entry_id TEXT,
    source TEXT NOT NULL,
    received INTEGER NOT NULL,
    PRIMARY KEY (post_id, liker)
);
CREATE INDEX IF NOT EXISTS likes_by_entry ON likes (entry_id) WHERE entry_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS own_likes (
    post_id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    entry_seq INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    sender TEXT NOT NULL,
    post_id TEXT NOT NULL DEFAULT '',
    entry_id TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL,
    received INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS notifications_once
    ON notifications (kind, sender, post_id, entry_id);
CREATE INDEX IF NOT EXISTS notifications_unread ON notifications (read) WHERE read = 0;
CREATE TABLE IF NOT EXISTS blocks (
    author TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    added INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    notice BLOB NOT NULL,
    first_sent REAL NOT NULL,
    next_try REAL NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_try);
CREATE TABLE IF NOT EXISTS inbox (
    id TEXT PRIMARY KEY,
    notice BLOB NOT NULL,
    received INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Derived:
    """What the index records about a post's kind, next to its signed bytes."""

    kind: str
    supported: bool
    reply_to: str | None
    reply_author: str | None
    repost_of: str | None
    repost_author: str | None
    target: str | None

    @property
    def pending(self) -> bool:
        """Return whether storing the post has effects beyond the index (node/social)."""
        return (self.supported and self.kind != kinds.POST) or self.repost_of is not None


def derive(signed: SignedPost) -> Derived:
    """Return the indexed facts of ``signed``."""
    post = signed.post
    original = post.original if post.supported else None
    reply = post.reply_to if post.supported else None
    return Derived(
        kind=post.kind,
        supported=post.supported,
        reply_to=reply.hex_id if reply else None,
        reply_author=reply.author.hex() if reply else None,
        repost_of=original.id if original else None,
        repost_author=original.post.author.hex() if original else None,
        target=post.target.hex() if post.supported and post.target else None,
    )

"""The posts table: every verified post this node keeps, and the timeline over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from swarmfeed.core import kinds
from swarmfeed.core.budget import order_time
from swarmfeed.core.posts import SignedPost, decode_post
from swarmfeed.store.social import derive
from swarmfeed.store.sqlite import Connection, marks

Cursor = tuple[int, int, int, str]
"""A timeline position: (sort time, created, seq, post id) of the last post shown."""

SHOWN = (
    "(p.kind IN ('post', 'reply', 'repost') OR p.supported = 0)"
    " AND NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.target = p.id AND t.author = p.author)"
    " AND (p.repost_of IS NULL OR p.text != '' OR NOT EXISTS (SELECT 1 FROM tombstones t"
    " WHERE t.target = p.repost_of AND t.author = p.repost_author))"
    " AND (p.repost_author IS NULL OR p.repost_author NOT IN (SELECT author FROM blocks))"
)
"""What a listing shows of the posts aliased ``p``: posts, replies and reposts (and kinds this
reader does not know), not deleted, not plain reposts of a deleted post, nothing of a blocked
or muted author inside a repost."""
NOT_MUTED = " AND p.author NOT IN (SELECT author FROM blocks)"
assert kinds.SHOWN_KINDS == ("post", "reply", "repost")


def needs_effects(signed: SignedPost) -> bool:
    """Return whether storing ``signed`` does more than index it (node/social applies it)."""
    post = signed.post
    return post.supported and (
        post.kind != kinds.POST or post.media is not None or bool(post.mentions)
    )


@dataclass(frozen=True)
class StoredPost:
    """A post as the index holds it."""

    signed: SignedPost
    received: int

    @property
    def id(self) -> str:
        """Return the post id."""
        return self.signed.id

    @property
    def sort_time(self) -> int:
        """Return the time the timeline orders this post by (never after its arrival)."""
        return order_time(self.signed.post.created, self.received)

    @property
    def cursor(self) -> Cursor:
        """Return the timeline position of this post."""
        post = self.signed.post
        return (self.sort_time, post.created, post.seq, self.id)


class PostTable:
    """Verified posts by id, author and seq; timelines ordered by (sort time, created, seq)."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, posts: Sequence[SignedPost], received: int) -> list[SignedPost]:
        """Insert verified posts in one transaction; return those that were new."""
        added: list[SignedPost] = []
        with self._db.tx() as cur:
            for signed in posts:
                post = signed.post
                derived = derive(signed)
                cur.execute(
                    "INSERT OR IGNORE INTO posts (id, author, seq, created, received, sort_time,"
                    " text, media_infohash, raw, kind, supported, reply_to, reply_author,"
                    " repost_of, repost_author, target, pending)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        signed.id,
                        post.author.hex(),
                        post.seq,
                        post.created,
                        received,
                        order_time(post.created, received),
                        post.text,
                        post.media.infohash.hex() if post.media else None,
                        signed.encode(),
                        derived.kind,
                        int(derived.supported),
                        derived.reply_to,
                        derived.reply_author,
                        derived.repost_of,
                        derived.repost_author,
                        derived.target,
                        int(needs_effects(signed)),
                    ),
                )
                if cur.rowcount:
                    added.append(signed)
        return added

    def get(self, post_id: str) -> StoredPost | None:
        """Return the post with ``post_id`` or None."""
        rows = self._db.query("SELECT raw, received FROM posts WHERE id = ?", (post_id,))
        return _stored(rows[0]) if rows else None

    def by_media(self, infohash: str) -> StoredPost | None:
        """Return the post whose media bundle has ``infohash`` (v1 hex)."""
        rows = self._db.query(
            "SELECT raw, received FROM posts WHERE media_infohash = ? LIMIT 1", (infohash,)
        )
        return _stored(rows[0]) if rows else None

    def without_media_row(self, authors: Sequence[str]) -> list[StoredPost]:
        """Return posts of ``authors`` whose media bundle has no row in the media table.

        A crash between storing a page's posts and queueing their media leaves such posts;
        the node looks for them once at start.
        """
        if not authors:
            return []
        marks = ", ".join("?" for _ in authors)
        rows = self._db.query(
            "SELECT raw, received FROM posts p WHERE p.media_infohash IS NOT NULL"  # noqa: S608
            f" AND p.author IN ({marks})"
            " AND NOT EXISTS (SELECT 1 FROM media m WHERE m.infohash = p.media_infohash)",
            tuple(authors),
        )
        return [_stored(row) for row in rows]

    def by_seq(self, author: str, first: int, last: int) -> list[StoredPost]:
        """Return the posts of ``author`` with ``first`` <= seq <= ``last``, ascending."""
        rows = self._db.query(
            "SELECT raw, received FROM posts WHERE author = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (author, first, last),
        )
        return [_stored(row) for row in rows]

    def accepted_ids(self, author: str, first: int = 0, last: int = 1 << 62) -> dict[int, str]:
        """Return seq -> post id of the accepted posts of ``author`` in [first, last]."""
        rows = self._db.query(
            "SELECT seq, id FROM posts WHERE author = ? AND seq BETWEEN ? AND ?",
            (author, first, last),
        )
        return {int(seq): str(pid) for seq, pid in rows}

    def count(self, author: str) -> int:
        """Return how many posts of ``author`` are stored."""
        return int(self._db.scalar("SELECT COUNT(*) FROM posts WHERE author = ?", (author,)))

    def max_seq(self, author: str) -> int | None:
        """Return the highest stored seq of ``author``."""
        value = self._db.scalar("SELECT MAX(seq) FROM posts WHERE author = ?", (author,))
        return None if value is None else int(value)

    def remove_author(self, author: str) -> int:
        """Forget every post of ``author``; return how many."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM posts WHERE author = ?", (author,))
            return int(cur.rowcount)

    def timeline(
        self,
        authors: Sequence[str],
        limit: int,
        before: Cursor | None = None,
        *,
        hide_muted: bool = True,
    ) -> list[StoredPost]:
        """Return shown posts of ``authors``, newest first, strictly after ``before``.

        Likes, deletes and profiles act on other data and are not listed; deleted posts and
        plain reposts of deleted posts are hidden, and so are muted authors (``hide_muted``).
        """
        if not authors:
            return []
        args: list[object] = list(authors)
        cursor_sql = ""
        if before is not None:
            cursor_sql = " AND (p.sort_time, p.created, p.seq, p.id) < (?, ?, ?, ?)"
            args += list(before)
        args.append(limit)
        # One author: its own (author, sort time) index. Several: walk the global sort index
        # and filter; SQLite would otherwise collect every post of every author and sort them
        # (50 ms at 100,000 posts instead of 0.1 ms).
        source = "posts p" if len(authors) == 1 else "posts p INDEXED BY posts_by_sort"
        muted = NOT_MUTED if hide_muted else ""
        rows = self._db.query(
            f"SELECT p.raw, p.received FROM {source} WHERE p.author IN ({marks(authors)})"  # noqa: S608
            f"{cursor_sql} AND {SHOWN}{muted}"
            " ORDER BY p.sort_time DESC, p.created DESC, p.seq DESC, p.id DESC LIMIT ?",
            args,
        )
        return [_stored(row) for row in rows]

    # kinds ---------------------------------------------------------------------------------

    def pending(self, limit: int = 256) -> list[StoredPost]:
        """Return stored posts whose effects are not applied yet (oldest first)."""
        rows = self._db.query(
            "SELECT raw, received FROM posts WHERE pending = 1 ORDER BY rowid LIMIT ?", (limit,)
        )
        return [_stored(row) for row in rows]

    def applied(self, post_ids: Sequence[str]) -> None:
        """Record that the effects of ``post_ids`` are applied."""
        with self._db.tx() as cur:
            cur.executemany("UPDATE posts SET pending = 0 WHERE id = ?", [(i,) for i in post_ids])

    def replies(self, post_id: str, limit: int) -> list[StoredPost]:
        """Return shown replies to ``post_id`` (oldest first)."""
        rows = self._db.query(
            f"SELECT p.raw, p.received FROM posts p WHERE p.reply_to = ? AND {SHOWN}"  # noqa: S608
            " ORDER BY p.sort_time, p.id LIMIT ?",
            (post_id, limit),
        )
        return [_stored(row) for row in rows]

    def reposts_of(self, post_id: str) -> list[StoredPost]:
        """Return the stored reposts and quotes whose original is ``post_id``."""
        rows = self._db.query(
            "SELECT raw, received FROM posts WHERE repost_of = ? ORDER BY rowid", (post_id,)
        )
        return [_stored(row) for row in rows]

    def latest_of_kind(self, author: str, kind: str) -> StoredPost | None:
        """Return the newest stored post of ``kind`` by ``author``."""
        rows = self._db.query(
            "SELECT raw, received FROM posts WHERE author = ? AND kind = ? ORDER BY seq DESC"
            " LIMIT 1",
            (author, kind),
        )
        return _stored(rows[0]) if rows else None


def _stored(row: Any) -> StoredPost:
    raw, received = row
    return StoredPost(decode_post(bytes(raw)), int(received))

"""The posts table: every verified post this node keeps, and the timeline over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from swarmfeed.core.budget import order_time
from swarmfeed.core.posts import SignedPost, decode_post
from swarmfeed.store.sqlite import Connection, marks

Cursor = tuple[int, int, int, str]
"""A timeline position: (sort time, created, seq, post id) of the last post shown."""


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
                cur.execute(
                    "INSERT OR IGNORE INTO posts (id, author, seq, created, received, sort_time,"
                    " text, media_infohash, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        self, authors: Sequence[str], limit: int, before: Cursor | None = None
    ) -> list[StoredPost]:
        """Return posts of ``authors``, newest first, strictly after the ``before`` cursor."""
        if not authors:
            return []
        args: list[object] = list(authors)
        cursor_sql = ""
        if before is not None:
            cursor_sql = " AND (sort_time, created, seq, id) < (?, ?, ?, ?)"
            args += list(before)
        args.append(limit)
        # One author: its own (author, sort time) index. Several: walk the global sort index
        # and filter; SQLite would otherwise collect every post of every author and sort them
        # (50 ms at 100,000 posts instead of 0.1 ms).
        source = "posts" if len(authors) == 1 else "posts INDEXED BY posts_by_sort"
        rows = self._db.query(
            f"SELECT raw, received FROM {source} WHERE author IN ({marks(authors)}){cursor_sql}"  # noqa: S608
            " ORDER BY sort_time DESC, created DESC, seq DESC, id DESC LIMIT ?",
            args,
        )
        return [_stored(row) for row in rows]


def _stored(row: Any) -> StoredPost:
    raw, received = row
    return StoredPost(decode_post(bytes(raw)), int(received))

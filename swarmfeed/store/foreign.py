"""Foreign posts: verified posts of authors this node does not follow, held for a reason.

A repost embeds its original whole (protocol.md §3.2): the original is kept here, so threads,
likes and deletes find it by id and its media is fetched and seeded. A notice (§11.8) brings
the entry it names. ``via`` is the followed author whose repost brought an original (its media
counts against that author's fetch budget); an original no stored repost names any more is
pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swarmfeed.core.posts import SignedPost, decode_post
from swarmfeed.store.posts import SHOWN, StoredPost
from swarmfeed.store.social import derive
from swarmfeed.store.sqlite import Connection

REPOST = "repost"
NOTICE = "notice"


class ForeignPostTable:
    """Posts by authors not followed, by id, with where they came from."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, signed: SignedPost, received: int, source: str, via: str | None) -> bool:
        """Keep a verified post; return False if it was held already."""
        post = signed.post
        derived = derive(signed)
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO foreign_posts (id, author, seq, created, received, kind,"
                " supported, text, reply_to, reply_author, repost_of, repost_author,"
                " media_infohash, raw, source, via)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    signed.id,
                    post.author.hex(),
                    post.seq,
                    post.created,
                    received,
                    derived.kind,
                    int(derived.supported),
                    post.text,
                    derived.reply_to,
                    derived.reply_author,
                    derived.repost_of,
                    derived.repost_author,
                    post.media.infohash.hex() if post.media else None,
                    signed.encode(),
                    source,
                    via,
                ),
            )
            return cur.rowcount > 0

    def get(self, post_id: str) -> StoredPost | None:
        """Return the foreign post ``post_id``."""
        rows = self._db.query("SELECT raw, received FROM foreign_posts WHERE id = ?", (post_id,))
        return _stored(rows[0]) if rows else None

    def replies(self, post_id: str, limit: int) -> list[StoredPost]:
        """Return shown foreign replies to ``post_id`` (oldest first)."""
        rows = self._db.query(
            "SELECT p.raw, p.received FROM foreign_posts p"  # noqa: S608
            f" WHERE p.reply_to = ? AND {SHOWN} ORDER BY p.received, p.id LIMIT ?",
            (post_id, limit),
        )
        return [_stored(row) for row in rows]

    def by_author(self, author: str) -> list[StoredPost]:
        """Return every foreign post of ``author``."""
        rows = self._db.query(
            "SELECT raw, received FROM foreign_posts WHERE author = ? ORDER BY rowid", (author,)
        )
        return [_stored(row) for row in rows]

    def held_media(self, author: str) -> set[str]:
        """Return infohashes of ``author``'s media that a foreign post of theirs holds."""
        rows = self._db.query(
            "SELECT media_infohash FROM foreign_posts WHERE author = ?"
            " AND media_infohash IS NOT NULL",
            (author,),
        )
        return {str(row[0]) for row in rows}

    def ids(self) -> set[str]:
        """Return the id of every foreign post."""
        return {str(row[0]) for row in self._db.query("SELECT id FROM foreign_posts")}

    def authors(self) -> set[str]:
        """Return the authors of reposted originals held (watched for their deletes)."""
        rows = self._db.query(
            "SELECT DISTINCT author FROM foreign_posts WHERE source = ?", (REPOST,)
        )
        return {str(row[0]) for row in rows}

    def oldest_seq(self, author: str) -> int | None:
        """Return the lowest seq of a reposted original of ``author`` held here."""
        value = self._db.scalar(
            "SELECT MIN(seq) FROM foreign_posts WHERE author = ? AND source = ?", (author, REPOST)
        )
        return None if value is None else int(value)

    def unreferenced(self) -> list[StoredPost]:
        """Return reposted originals no stored post (or held quote) embeds any more."""
        rows = self._db.query(
            "SELECT f.raw, f.received FROM foreign_posts f WHERE f.source = ?"
            " AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.repost_of = f.id)"
            " AND NOT EXISTS (SELECT 1 FROM foreign_posts g WHERE g.repost_of = f.id"
            " AND g.id != f.id)",
            (REPOST,),
        )
        return [_stored(row) for row in rows]

    def via_bytes(self, via: str) -> int:
        """Return the media bytes held or wanted for originals reposted by ``via``."""
        value = self._db.scalar(
            "SELECT COALESCE(SUM(m.size), 0) FROM foreign_posts f JOIN media m"
            " ON m.infohash = f.media_infohash WHERE f.via = ?"
            " AND m.state IN ('queued', 'fetching', 'complete')",
            (via,),
        )
        return int(value)

    def remove(self, post_ids: Sequence[str]) -> None:
        """Forget foreign posts."""
        with self._db.tx() as cur:
            cur.executemany("DELETE FROM foreign_posts WHERE id = ?", [(i,) for i in post_ids])


def _stored(row: Any) -> StoredPost:
    raw, received = row
    return StoredPost(decode_post(bytes(raw)), int(received))

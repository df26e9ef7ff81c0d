"""Likes: who liked which of our posts (opened sealed likes) and what we liked ourselves."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection


@dataclass(frozen=True)
class LikeRow:
    """A like of one of our posts: one per (post, liker)."""

    post_id: str
    liker: str
    created: int
    entry_id: str | None
    """The liker's like entry, when it was read from their log."""
    source: str
    """``log`` or ``notice``."""


@dataclass(frozen=True)
class OwnLike:
    """A like this node's author published (its sealed content only the liked author opens)."""

    post_id: str
    author: str
    entry_id: str
    entry_seq: int
    sealed: bytes


class LikeTable:
    """Likes of our posts, and our own likes of others' posts."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, row: LikeRow, received: int) -> bool:
        """Count a like; a (post, liker) pair counts once (the first one kept)."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO likes (post_id, liker, created, entry_id, source, received)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (row.post_id, row.liker, row.created, row.entry_id, row.source, received),
            )
            if cur.rowcount == 0 and row.entry_id is not None:
                # Known from a notice first: remember the entry, so its delete (unlike) finds it.
                cur.execute(
                    "UPDATE likes SET entry_id = ? WHERE post_id = ? AND liker = ?"
                    " AND entry_id IS NULL",
                    (row.entry_id, row.post_id, row.liker),
                )
                return False
            return cur.rowcount > 0

    def of(self, post_id: str) -> list[LikeRow]:
        """Return the likes of ``post_id``, oldest first."""
        rows = self._db.query(
            "SELECT post_id, liker, created, entry_id, source FROM likes WHERE post_id = ?"
            " ORDER BY received, liker",
            (post_id,),
        )
        return [
            LikeRow(str(p), str(liker), int(c), None if e is None else str(e), str(s))
            for p, liker, c, e, s in rows
        ]

    def remove(self, post_id: str, liker: str, created: int | None = None) -> bool:
        """Drop ``liker``'s like of ``post_id`` (only the one made at ``created`` if given)."""
        sql = "DELETE FROM likes WHERE post_id = ? AND liker = ?"
        args: tuple[object, ...] = (post_id, liker)
        if created is not None:
            sql += " AND created = ?"
            args += (created,)
        with self._db.tx() as cur:
            cur.execute(sql, args)
            return cur.rowcount > 0

    def remove_entry(self, entry_id: str, liker: str) -> bool:
        """Drop the like that ``liker``'s entry ``entry_id`` made (its delete is an unlike)."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM likes WHERE entry_id = ? AND liker = ?", (entry_id, liker))
            return cur.rowcount > 0

    # our own likes -----------------------------------------------------------------------

    def add_own(self, like: OwnLike) -> None:
        """Remember that we liked ``like.post_id`` with the entry ``like.entry_id``."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO own_likes (post_id, author, entry_id, entry_seq, sealed)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (post_id) DO UPDATE SET"
                " entry_id = excluded.entry_id, entry_seq = excluded.entry_seq,"
                " sealed = excluded.sealed",
                (like.post_id, like.author, like.entry_id, like.entry_seq, like.sealed),
            )

    def own(self, post_id: str) -> OwnLike | None:
        """Return our like of ``post_id``."""
        rows = self._db.query(
            "SELECT post_id, author, entry_id, entry_seq, sealed FROM own_likes WHERE post_id = ?",
            (post_id,),
        )
        if not rows:
            return None
        p, a, e, seq, sealed = rows[0]
        return OwnLike(str(p), str(a), str(e), int(seq), bytes(sealed))

    def remove_own(self, post_id: str) -> None:
        """Forget our like of ``post_id``."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM own_likes WHERE post_id = ?", (post_id,))

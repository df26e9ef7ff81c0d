"""Tombstones: which posts their authors deleted (protocol.md §3.2, ``delete``).

A delete may be stored before the post it deletes (a follower walks a log newest first), so
tombstones are kept by target id and author and every listing checks them. The log itself
stays append-only; the tombstone is only the reader's record of the delete.
"""

from __future__ import annotations

from swarmfeed.store.sqlite import Connection


class TombstoneTable:
    """Deleted post ids, with the delete that deleted each."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, target: str, author: str, by_post: str) -> bool:
        """Record that ``author``'s post ``target`` is deleted; return False if known."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO tombstones (target, author, by_post) VALUES (?, ?, ?)",
                (target, author, by_post),
            )
            return cur.rowcount > 0

    def deleted(self, post_id: str, author: str) -> bool:
        """Return whether ``author`` deleted the post ``post_id``."""
        return bool(
            self._db.query(
                "SELECT 1 FROM tombstones WHERE target = ? AND author = ?", (post_id, author)
            )
        )

    def targets(self) -> list[tuple[str, str]]:
        """Return every (target, author) deleted."""
        return [
            (str(t), str(a)) for t, a in self._db.query("SELECT target, author FROM tombstones")
        ]

"""Notices taken (acknowledged) whose entry is still to be fetched: survives a restart."""

from __future__ import annotations

from swarmfeed.store.sqlite import Connection


class InboxTable:
    """Taken notices by id (SHA-256 of their bytes), oldest first."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, notice_id: str, notice: bytes, received: int) -> bool:
        """Keep a taken notice; return False if it is kept already."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO inbox (id, notice, received) VALUES (?, ?, ?)",
                (notice_id, notice, received),
            )
            return cur.rowcount > 0

    def remove(self, notice_id: str) -> None:
        """Forget a notice whose entry was stored or refused."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM inbox WHERE id = ?", (notice_id,))

    def count(self) -> int:
        """Return how many notices wait."""
        return int(self._db.scalar("SELECT COUNT(*) FROM inbox"))

    def waiting(self, limit: int) -> list[bytes]:
        """Return the waiting notices' bytes, oldest first."""
        rows = self._db.query("SELECT notice FROM inbox ORDER BY received, id LIMIT ?", (limit,))
        return [bytes(row[0]) for row in rows]

"""Notifications: what other authors did with our posts (replies, reposts, mentions, likes)."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection

MAX_KEPT = 10_000
"""Notifications kept; older ones are dropped as new ones arrive."""


@dataclass(frozen=True)
class NotificationRow:
    """One notification: ``sender`` did ``kind`` with our post ``post_id`` (their ``entry_id``)."""

    id: int
    kind: str
    sender: str
    post_id: str
    entry_id: str
    created: int
    received: int
    read: bool


class NotificationTable:
    """Notifications, newest first, each kept once."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(
        self, kind: str, sender: str, post_id: str, entry_id: str, created: int, received: int
    ) -> bool:
        """Record a notification; return False if it was known."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO notifications (kind, sender, post_id, entry_id, created,"
                " received) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, sender, post_id, entry_id, created, received),
            )
            added = cur.rowcount > 0
            if added:
                cur.execute(
                    "DELETE FROM notifications WHERE id <= (SELECT MAX(id) FROM notifications) - ?",
                    (MAX_KEPT,),
                )
            return added

    def newest(self, limit: int, before: int | None = None) -> list[NotificationRow]:
        """Return notifications newest first (ids below ``before`` when given)."""
        rows = self._db.query(
            "SELECT id, kind, sender, post_id, entry_id, created, received, read"
            " FROM notifications WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 1 << 62, limit),
        )
        return [
            NotificationRow(int(i), str(k), str(s), str(p), str(e), int(c), int(r), bool(read))
            for i, k, s, p, e, c, r, read in rows
        ]

    def unread(self) -> int:
        """Return how many notifications are unread."""
        return int(self._db.scalar("SELECT COUNT(*) FROM notifications WHERE read = 0"))

    def mark_read(self, up_to: int | None = None) -> int:
        """Mark notifications read (those with id <= ``up_to``, or all); return how many."""
        with self._db.tx() as cur:
            cur.execute(
                "UPDATE notifications SET read = 1 WHERE read = 0 AND id <= ?",
                (up_to if up_to is not None else 1 << 62,),
            )
            return int(cur.rowcount)

    def remove_sender(self, sender: str) -> None:
        """Drop every notification from ``sender`` (blocked)."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM notifications WHERE sender = ?", (sender,))

    def remove_entry(self, entry_id: str, sender: str) -> None:
        """Drop notifications of an entry its sender deleted."""
        with self._db.tx() as cur:
            cur.execute(
                "DELETE FROM notifications WHERE entry_id = ? AND sender = ?", (entry_id, sender)
            )

"""Blocked and muted authors (the index's copy of ``blocks.json``)."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection

BLOCK = "block"
MUTE = "mute"


@dataclass(frozen=True)
class BlockRow:
    """An author this node blocks (nothing of theirs fetched, seeded or shown) or mutes."""

    author: str
    kind: str
    added: int


class BlockTable:
    """Blocked and muted authors by hex key."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def set(self, row: BlockRow) -> None:
        """Block or mute ``row.author`` (a new kind replaces the old one)."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO blocks (author, kind, added) VALUES (?, ?, ?)"
                " ON CONFLICT (author) DO UPDATE SET kind = excluded.kind",
                (row.author, row.kind, row.added),
            )

    def remove(self, author: str) -> bool:
        """Neither block nor mute ``author`` any more; return False if neither was."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM blocks WHERE author = ?", (author,))
            return cur.rowcount > 0

    def kind(self, author: str) -> str | None:
        """Return ``block``, ``mute`` or None for ``author``."""
        value = self._db.scalar("SELECT kind FROM blocks WHERE author = ?", (author,))
        return None if value is None else str(value)

    def blocked(self, author: str) -> bool:
        """Return whether ``author`` is blocked (not only muted)."""
        return self.kind(author) == BLOCK

    def rows(self) -> list[BlockRow]:
        """Return every blocked or muted author, oldest first."""
        return [
            BlockRow(str(a), str(k), int(t))
            for a, k, t in self._db.query("SELECT author, kind, added FROM blocks ORDER BY added")
        ]

    def replace(self, rows: list[BlockRow]) -> None:
        """Make the table hold exactly ``rows``."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM blocks")
            cur.executemany(
                "INSERT INTO blocks (author, kind, added) VALUES (?, ?, ?)",
                [(r.author, r.kind, r.added) for r in rows],
            )

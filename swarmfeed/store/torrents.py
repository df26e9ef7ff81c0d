"""The torrents table: every torrent this node keeps and what it is to swarmfeed."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection


@dataclass(frozen=True)
class TorrentRow:
    """A torrent this node keeps: a feed page or a media bundle."""

    infohash: str
    kind: str
    author: str
    post_id: str | None


class TorrentTable:
    """Torrents by v1 infohash (hex): kind ``page`` or ``media``, author, post."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, row: TorrentRow, now: int) -> None:
        """Remember a torrent this node keeps."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO torrents (infohash, kind, author, post_id, added)"
                " VALUES (?, ?, ?, ?, ?)",
                (row.infohash, row.kind, row.author, row.post_id, now),
            )

    def remove(self, infohash: str) -> None:
        """Forget a torrent."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM torrents WHERE infohash = ?", (infohash,))

    def rows(self, author: str | None = None) -> list[TorrentRow]:
        """Return the torrents this node keeps, optionally only those of ``author``."""
        sql = "SELECT infohash, kind, author, post_id FROM torrents"
        args: tuple[object, ...] = ()
        if author is not None:
            sql += " WHERE author = ?"
            args = (author,)
        return [
            TorrentRow(str(ih), str(kind), str(a), None if pid is None else str(pid))
            for ih, kind, a, pid in self._db.query(sql + " ORDER BY added", args)
        ]

    def recent(self, author: str, limit: int) -> list[str]:
        """Return the infohashes of ``author``'s ``limit`` most recently added torrents."""
        rows = self._db.query(
            "SELECT infohash FROM torrents WHERE author = ? ORDER BY added DESC LIMIT ?",
            (author, limit),
        )
        return [str(row[0]) for row in rows]

    def get(self, infohash: str) -> TorrentRow | None:
        """Return the torrent row for ``infohash``."""
        rows = self._db.query(
            "SELECT infohash, kind, author, post_id FROM torrents WHERE infohash = ?", (infohash,)
        )
        if not rows:
            return None
        ih, kind, a, pid = rows[0]
        return TorrentRow(str(ih), str(kind), str(a), None if pid is None else str(pid))

    def infohashes(self) -> set[str]:
        """Return the infohash of every kept torrent."""
        return {str(row[0]) for row in self._db.query("SELECT infohash FROM torrents")}

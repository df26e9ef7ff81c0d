"""The follows table: followed authors and how their sync stands."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection


@dataclass(frozen=True)
class FollowRow:
    """One followed author with its sync bookkeeping."""

    author: str
    added: int
    state: str
    last_error: str | None
    last_checked: int | None
    last_synced: int | None
    head_seq: int | None
    post_count: int
    kind: str = "follow"
    """``follow`` or ``mirror`` (core/followfile.FollowKind)."""


class FollowTable:
    """Followed authors (hex keys) with the state of their last sync."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, author: str, now: int, kind: str = "follow") -> bool:
        """Start following ``author`` (as ``kind``); return False if already followed.

        An author already followed keeps its row; only its kind is set to ``kind``.
        """
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO follows (author, added, kind) VALUES (?, ?, ?)",
                (author, now, kind),
            )
            added = cur.rowcount > 0
            if not added:
                cur.execute("UPDATE follows SET kind = ? WHERE author = ?", (kind, author))
            return added

    def kind(self, author: str) -> str | None:
        """Return how ``author`` is followed (``follow``/``mirror``), None when not followed."""
        value = self._db.scalar("SELECT kind FROM follows WHERE author = ?", (author,))
        return None if value is None else str(value)

    def sync_facts(self) -> list[tuple[str, str, str, int, int | None, int | None]]:
        """Return ``(author, kind, state, added, last_synced, head n)`` per followed author.

        One row per author, no count over posts (metrics read it at every scrape).
        """
        rows = self._db.query(
            "SELECT f.author, f.kind, f.state, f.added, f.last_synced, h.count"
            " FROM follows f LEFT JOIN heads h ON h.author = f.author"
        )
        return [
            (
                str(a),
                str(kind),
                str(state),
                int(added),
                None if synced is None else int(synced),
                None if count is None else int(count),
            )
            for a, kind, state, added, synced, count in rows
        ]

    def kinds(self) -> dict[str, str]:
        """Return how each followed author is followed, by hex key."""
        return {str(a): str(k) for a, k in self._db.query("SELECT author, kind FROM follows")}

    def of_kind(self, kind: str) -> list[str]:
        """Return the authors followed as ``kind``, oldest follow first."""
        rows = self._db.query("SELECT author FROM follows WHERE kind = ? ORDER BY added", (kind,))
        return [str(row[0]) for row in rows]

    def remove(self, author: str) -> bool:
        """Stop following ``author``; return False if it was not followed."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM follows WHERE author = ?", (author,))
            return cur.rowcount > 0

    def contains(self, author: str) -> bool:
        """Return True if ``author`` is followed."""
        return bool(self._db.query("SELECT 1 FROM follows WHERE author = ?", (author,)))

    def set_state(
        self,
        author: str,
        state: str,
        *,
        now: int,
        error: str | None = None,
        synced: bool = False,
    ) -> bool:
        """Record the outcome of a sync of ``author``; return True if state or error changed."""
        with self._db.tx() as cur:
            cur.execute("SELECT state, last_error FROM follows WHERE author = ?", (author,))
            before = cur.fetchone()
            cur.execute(
                "UPDATE follows SET state = ?, last_error = ?, last_checked = ?,"
                " last_synced = CASE WHEN ? THEN ? ELSE last_synced END WHERE author = ?",
                (state, error, now, synced, now, author),
            )
        return before is not None and (before[0], before[1]) != (state, error)

    def rows(self) -> list[FollowRow]:
        """Return every followed author with its head seq and stored post count."""
        return self._select("ORDER BY f.added, f.author", ())

    def row(self, author: str) -> FollowRow | None:
        """Return the row of ``author`` if followed."""
        rows = self._select("WHERE f.author = ?", (author,))
        return rows[0] if rows else None

    def _select(self, tail: str, args: tuple[object, ...]) -> list[FollowRow]:
        sql = (
            "SELECT f.author, f.added, f.state, f.last_error, f.last_checked, f.last_synced,"
            " h.seq, (SELECT COUNT(*) FROM posts p WHERE p.author = f.author), f.kind"
            " FROM follows f LEFT JOIN heads h ON h.author = f.author "
        )
        rows = self._db.query(sql + tail, args)
        return [
            FollowRow(
                author=str(a),
                added=int(added),
                state=str(state),
                last_error=None if err is None else str(err),
                last_checked=None if checked is None else int(checked),
                last_synced=None if synced is None else int(synced),
                head_seq=None if seq is None else int(seq),
                post_count=int(count),
                kind=str(kind),
            )
            for a, added, state, err, checked, synced, seq, count, kind in rows
        ]

    def authors(self) -> list[str]:
        """Return the hex keys of every followed author, oldest follow first."""
        return [str(row[0]) for row in self._db.query("SELECT author FROM follows ORDER BY added")]

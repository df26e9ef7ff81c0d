"""The outbox: notices we owe other authors, retried until acknowledged (protocol.md §11.8)."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection

PENDING = "pending"
ACKED = "acked"
REFUSED = "refused"
EXPIRED = "expired"


@dataclass(frozen=True)
class OutboxRow:
    """A notice to ``recipient`` and how its delivery stands."""

    id: str
    recipient: str
    kind: str
    notice: bytes
    first_sent: float
    next_try: float
    tries: int
    state: str
    detail: str | None


_COLUMNS = "id, recipient, kind, notice, first_sent, next_try, tries, state, detail"


class OutboxTable:
    """Notices by id (the SHA-256 of their bytes), due ones first."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, row: OutboxRow) -> bool:
        """Queue a notice; return False if it is queued already."""
        with self._db.tx() as cur:
            cur.execute(
                f"INSERT OR IGNORE INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    row.id,
                    row.recipient,
                    row.kind,
                    row.notice,
                    row.first_sent,
                    row.next_try,
                    row.tries,
                    row.state,
                    row.detail,
                ),
            )
            return cur.rowcount > 0

    def due(self, now: float, limit: int) -> list[OutboxRow]:
        """Return pending notices due at ``now``, earliest first."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND next_try <= ?"  # noqa: S608
            " ORDER BY next_try LIMIT ?",
            (PENDING, now, limit),
        )
        return [_row(r) for r in rows]

    def next_due(self) -> float | None:
        """Return when the next pending notice is due."""
        value = self._db.scalar("SELECT MIN(next_try) FROM outbox WHERE state = ?", (PENDING,))
        return None if value is None else float(value)

    def update(
        self, notice_id: str, state: str, next_try: float, tries: int, detail: str | None
    ) -> None:
        """Record an attempt's outcome."""
        with self._db.tx() as cur:
            cur.execute(
                "UPDATE outbox SET state = ?, next_try = ?, tries = ?, detail = ? WHERE id = ?",
                (state, next_try, tries, detail, notice_id),
            )

    def get(self, notice_id: str) -> OutboxRow | None:
        """Return the notice ``notice_id``."""
        rows = self._db.query(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (notice_id,))  # noqa: S608
        return _row(rows[0]) if rows else None

    def rows(self, recipient: str | None = None) -> list[OutboxRow]:
        """Return every notice (to ``recipient`` only, when given), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM outbox"  # noqa: S608
        args: tuple[object, ...] = ()
        if recipient is not None:
            sql += " WHERE recipient = ?"
            args = (recipient,)
        return [_row(r) for r in self._db.query(sql + " ORDER BY first_sent", args)]

    def drop_recipient(self, recipient: str) -> None:
        """Stop delivering to ``recipient`` (blocked)."""
        with self._db.tx() as cur:
            cur.execute(
                "UPDATE outbox SET state = ?, detail = 'recipient blocked' WHERE recipient = ?"
                " AND state = ?",
                (REFUSED, recipient, PENDING),
            )


def _row(row: tuple[object, ...]) -> OutboxRow:
    i, recipient, kind, notice, first, due, tries, state, detail = row
    return OutboxRow(
        str(i),
        str(recipient),
        str(kind),
        bytes(notice),  # type: ignore[call-overload]
        float(first),  # type: ignore[arg-type]
        float(due),  # type: ignore[arg-type]
        int(tries),  # type: ignore[call-overload]
        str(state),
        None if detail is None else str(detail),
    )

"""The media table: every post's media bundle this node knows, and the fetch queue over them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from swarmfeed.core.budget import Priority
from swarmfeed.store.sqlite import Connection


class MediaState(enum.StrEnum):
    """Where a media bundle stands on this node."""

    QUEUED = "queued"
    """Wanted; waits for a fetch slot (or for ``retry_at`` after a stall)."""
    FETCHING = "fetching"
    """Added to the engine; metadata or pieces are on their way."""
    COMPLETE = "complete"
    """Every file is here and seeded."""
    SKIPPED = "skipped"
    """Not fetched on its own (size or budget, see ``reason``); fetched when opened."""
    REFUSED = "refused"
    """Its metadata failed the check of protocol.md §4; never fetched again."""


@dataclass(frozen=True)
class MediaRow:
    """One media bundle and its fetch state."""

    infohash: str
    author: str
    post_id: str
    size: int
    sort_time: int
    priority: Priority
    state: MediaState
    reason: str | None
    retry_at: float | None


_COLUMNS = "infohash, author, post_id, size, sort_time, priority, state, reason, retry_at"
# What counts against an author's automatic fetch budget.
_HELD = (MediaState.QUEUED, MediaState.FETCHING, MediaState.COMPLETE)


class MediaTable:
    """Media bundles by v1 infohash; the queue is ordered by priority, then newest first."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def add(self, rows: Sequence[MediaRow], now: int) -> list[MediaRow]:
        """Insert new bundles (known ones are left as they are); return those added."""
        added: list[MediaRow] = []
        with self._db.tx() as cur:
            for row in rows:
                cur.execute(
                    f"INSERT OR IGNORE INTO media ({_COLUMNS}, updated)"  # noqa: S608
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*_values(row), now),
                )
                if cur.rowcount:
                    added.append(row)
        return added

    def get(self, infohash: str) -> MediaRow | None:
        """Return the bundle ``infohash``."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM media WHERE infohash = ?",  # noqa: S608
            (infohash,),
        )
        return _row(rows[0]) if rows else None

    def next(self, limit: int, now: float, minimum: Priority = Priority.BACKLOG) -> list[MediaRow]:
        """Return up to ``limit`` queued bundles of at least ``minimum`` priority, best first."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM media WHERE state = ? AND priority >= ?"  # noqa: S608
            " AND (retry_at IS NULL OR retry_at <= ?)"
            " ORDER BY priority DESC, sort_time DESC LIMIT ?",
            (MediaState.QUEUED.value, int(minimum), now, limit),
        )
        return [_row(row) for row in rows]

    def next_retry(self) -> float | None:
        """Return the earliest ``retry_at`` of a queued bundle waiting out a stall."""
        value = self._db.scalar(
            "SELECT MIN(retry_at) FROM media WHERE state = ? AND retry_at IS NOT NULL",
            (MediaState.QUEUED.value,),
        )
        return None if value is None else float(value)

    def set_state(
        self,
        infohash: str,
        state: MediaState,
        now: int,
        *,
        reason: str | None = None,
        retry_at: float | None = None,
        priority: Priority | None = None,
    ) -> None:
        """Move bundle ``infohash`` to ``state`` (optionally with a new priority)."""
        with self._db.tx() as cur:
            cur.execute(
                "UPDATE media SET state = ?, reason = ?, retry_at = ?, updated = ?,"
                " priority = COALESCE(?, priority) WHERE infohash = ?",
                (
                    state.value,
                    reason,
                    retry_at,
                    now,
                    None if priority is None else int(priority),
                    infohash,
                ),
            )

    def used_bytes(self, author: str) -> int:
        """Return the bytes of ``author``'s media that are queued, fetching or complete."""
        value = self._db.scalar(
            "SELECT COALESCE(SUM(size), 0) FROM media WHERE author = ? AND state IN (?, ?, ?)",
            (author, *(s.value for s in _HELD)),
        )
        return int(value)

    def count(self, state: MediaState) -> int:
        """Return how many bundles are in ``state``."""
        return int(self._db.scalar("SELECT COUNT(*) FROM media WHERE state = ?", (state.value,)))

    def in_state(self, state: MediaState) -> list[MediaRow]:
        """Return every bundle in ``state``."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM media WHERE state = ?",  # noqa: S608
            (state.value,),
        )
        return [_row(row) for row in rows]

    def remove_author(self, author: str) -> list[str]:
        """Forget every bundle of ``author``; return their infohashes."""
        with self._db.tx() as cur:
            cur.execute("SELECT infohash FROM media WHERE author = ?", (author,))
            gone = [str(row[0]) for row in cur.fetchall()]
            cur.execute("DELETE FROM media WHERE author = ?", (author,))
        return gone


def _values(row: MediaRow) -> tuple[Any, ...]:
    return (
        row.infohash,
        row.author,
        row.post_id,
        row.size,
        row.sort_time,
        int(row.priority),
        row.state.value,
        row.reason,
        row.retry_at,
    )


def _row(row: Any) -> MediaRow:
    ih, author, post_id, size, sort_time, priority, state, reason, retry_at = row
    return MediaRow(
        str(ih),
        str(author),
        str(post_id),
        int(size),
        int(sort_time),
        Priority(int(priority)),
        MediaState(str(state)),
        None if reason is None else str(reason),
        None if retry_at is None else float(retry_at),
    )

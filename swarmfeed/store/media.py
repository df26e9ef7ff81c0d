"""The media table: every post's media bundle this node knows, and the fetch queue over them.

``media_usage`` holds the bundles and bytes per author and state, kept by triggers on every
change of the media table, so the storage budgets and the metrics read totals whose cost grows
with the number of authors, not of posts.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from swarmfeed.core.budget import REQUEST_WORTH_SECONDS, Priority
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
    EVICTED = "evicted"
    """Was complete; removed to stay within a storage budget; fetched again when opened."""


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


@dataclass(frozen=True)
class MediaUsage:
    """Bundles and bytes of one author in one state."""

    author: str
    state: MediaState
    bundles: int
    bytes: int


@dataclass(frozen=True)
class Requested:
    """A bundle with how often and when a person last opened it here."""

    row: MediaRow
    requests: int
    last_requested: int


_COLUMNS = "infohash, author, post_id, size, sort_time, priority, state, reason, retry_at"
# What counts against an author's budget: held, or on its way.
HELD = (MediaState.QUEUED, MediaState.FETCHING, MediaState.COMPLETE)
REQUEST_GAP = 60
"""Seconds within which repeated opens of one bundle (a player's range requests) count once."""

_UPSERT_USAGE = """
  INSERT INTO media_usage (author, state, bundles, bytes)
    VALUES (NEW.author, NEW.state, 1, NEW.size)
  ON CONFLICT (author, state) DO UPDATE SET
    bundles = bundles + 1, bytes = bytes + excluded.bytes;"""
_DROP_USAGE = """
  UPDATE media_usage SET bundles = bundles - 1, bytes = bytes - OLD.size
    WHERE author = OLD.author AND state = OLD.state;
  DELETE FROM media_usage WHERE author = OLD.author AND state = OLD.state AND bundles <= 0;"""
MEDIA_USAGE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS media_usage (
    author TEXT NOT NULL,
    state TEXT NOT NULL,
    bundles INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (author, state)
);
CREATE TRIGGER IF NOT EXISTS media_usage_insert AFTER INSERT ON media BEGIN{_UPSERT_USAGE}
END;
CREATE TRIGGER IF NOT EXISTS media_usage_delete AFTER DELETE ON media BEGIN{_DROP_USAGE}
END;
CREATE TRIGGER IF NOT EXISTS media_usage_update AFTER UPDATE OF state, size, author ON media
WHEN OLD.state IS NOT NEW.state OR OLD.size != NEW.size OR OLD.author != NEW.author
BEGIN{_DROP_USAGE}{_UPSERT_USAGE}
END;
"""


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

    def known(self, infohashes: Sequence[str]) -> set[str]:
        """Return which of ``infohashes`` have a row."""
        if not infohashes:
            return set()
        marks = ", ".join("?" for _ in infohashes)
        rows = self._db.query(
            f"SELECT infohash FROM media WHERE infohash IN ({marks})",  # noqa: S608
            tuple(infohashes),
        )
        return {str(row[0]) for row in rows}

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

    def used_bytes(self, author: str | None = None) -> int:
        """Return the bytes of media queued, fetching or complete (of ``author``, or all)."""
        states = tuple(s.value for s in HELD)
        if author is None:
            value = self._db.scalar(
                "SELECT COALESCE(SUM(bytes), 0) FROM media_usage WHERE state IN (?, ?, ?)", states
            )
        else:
            value = self._db.scalar(
                "SELECT COALESCE(SUM(bytes), 0) FROM media_usage"
                " WHERE author = ? AND state IN (?, ?, ?)",
                (author, *states),
            )
        return int(value)

    def usage(self) -> list[MediaUsage]:
        """Return bundles and bytes per author and state (one row per pair; cost ~ authors)."""
        rows = self._db.query("SELECT author, state, bundles, bytes FROM media_usage")
        return [
            MediaUsage(str(a), MediaState(str(state)), int(n), int(size))
            for a, state, n, size in rows
        ]

    def recount_usage(self) -> None:
        """Recompute ``media_usage`` from the media table (after a migration)."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM media_usage")
            cur.execute(
                "INSERT INTO media_usage (author, state, bundles, bytes)"
                " SELECT author, state, COUNT(*), SUM(size) FROM media GROUP BY author, state"
            )

    def record_request(self, infohash: str, now: int) -> None:
        """Note that a person opened bundle ``infohash`` (opens within REQUEST_GAP count once)."""
        with self._db.tx() as cur:
            cur.execute(
                "UPDATE media SET requests = requests + 1, last_requested = ?"
                " WHERE infohash = ? AND last_requested <= ?",
                (now, infohash, now - REQUEST_GAP),
            )

    def evictable(
        self, authors: list[str], limit: int, after: tuple[float, str] | None = None
    ) -> list[Requested]:
        """Return up to ``limit`` queued or complete bundles of ``authors``, least used first.

        The order approximates core/budget.keep_value without the bytes served (which only the
        engine knows): last use plus REQUEST_WORTH_SECONDS per request. ``after`` continues
        from the last row of a previous batch.
        """
        if not authors:
            return []
        marks = ", ".join("?" for _ in authors)
        score = "MAX(sort_time, last_requested) + requests * ?"
        where = f"author IN ({marks}) AND state IN (?, ?)"
        args: list[object] = [*authors, MediaState.QUEUED.value, MediaState.COMPLETE.value]
        if after is not None:
            where += f" AND ({score}, infohash) > (?, ?)"
            args += [REQUEST_WORTH_SECONDS, after[0], after[1]]
        rows = self._db.query(
            f"SELECT {_COLUMNS}, requests, last_requested, {score} AS score"  # noqa: S608
            f" FROM media WHERE {where} ORDER BY score, infohash LIMIT ?",
            (REQUEST_WORTH_SECONDS, *args, limit),
        )
        return [Requested(_row(row[:9]), int(row[9]), int(row[10])) for row in rows]

    def reopen_author(self, author: str, now: int) -> int:
        """Queue every skipped or evicted bundle of ``author`` again; return how many."""
        with self._db.tx() as cur:
            cur.execute(
                "UPDATE media SET state = ?, reason = NULL, retry_at = NULL, updated = ?"
                " WHERE author = ? AND state IN (?, ?)",
                (
                    MediaState.QUEUED.value,
                    now,
                    author,
                    MediaState.SKIPPED.value,
                    MediaState.EVICTED.value,
                ),
            )
            return int(cur.rowcount)

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

    def remove_author(self, author: str, keep: Collection[str] = ()) -> list[str]:
        """Forget every bundle of ``author`` but those in ``keep``; return their infohashes."""
        with self._db.tx() as cur:
            cur.execute("SELECT infohash FROM media WHERE author = ?", (author,))
            gone = [str(row[0]) for row in cur.fetchall() if str(row[0]) not in keep]
            cur.executemany("DELETE FROM media WHERE infohash = ?", [(ih,) for ih in gone])
        return gone

    def remove(self, infohash: str) -> None:
        """Forget the bundle ``infohash``."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM media WHERE infohash = ?", (infohash,))


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

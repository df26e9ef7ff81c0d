"""One SQLite connection shared by the tables: WAL mode, short transactions under a lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from swarmfeed.errors import SwarmfeedError


class DatabaseError(SwarmfeedError):
    """The index file cannot be opened or read (corrupt, not a database, unwritable)."""


def rebuild_hint(path: Path) -> str:
    """Return how to get a working index again: it is a view of the signed feeds on disk."""
    return (
        f"The index is only a view of the signed feeds in {path.parent}: stop the node, move "
        f"it aside (mv {path} {path}.broken) and start the node again; it rebuilds the index "
        "from the feeds on disk"
    )


class Connection:
    """A thread-safe SQLite connection; every write is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed transaction survives a power cut, not only a killed process.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(
                f"cannot open the index {path}: {exc}. {rebuild_hint(path)}"
            ) from exc

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self._lock:
            self._conn.close()

    def script(self, sql: str) -> None:
        """Run a multi-statement script (schema changes; it commits on its own)."""
        with self._lock:
            self._conn.executescript(sql)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Cursor]:
        """Run the block as one IMMEDIATE transaction, rolled back on any exception."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        """Return every row of a read query."""
        with self._lock:
            return list(self._conn.execute(sql, args).fetchall())

    def scalar(self, sql: str, args: Sequence[object] = ()) -> Any:
        """Return the first column of the first row (None when there is no row)."""
        rows = self.query(sql, args)
        return rows[0][0] if rows else None


def marks(values: Sequence[object]) -> str:
    """Return ``?, ?, ...`` for an IN clause over ``values``."""
    return ",".join("?" for _ in values)

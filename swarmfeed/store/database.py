"""SQLite (WAL) view of posts, follows, heads and torrents.

The database is a rebuildable index: the truth is the signed logs on disk (feed pages and head
items under the node's home). Everything here can be recreated by ``Node.rebuild_index``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmfeed.core.posts import SignedPost, decode_post

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created INTEGER NOT NULL,
    received INTEGER NOT NULL,
    text TEXT NOT NULL,
    media_infohash TEXT,
    raw BLOB NOT NULL,
    UNIQUE (author, seq)
);
CREATE INDEX IF NOT EXISTS posts_by_time ON posts (created DESC, seq DESC, id DESC);
CREATE INDEX IF NOT EXISTS posts_by_author ON posts (author, seq DESC);
CREATE TABLE IF NOT EXISTS follows (
    author TEXT PRIMARY KEY,
    added INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',
    last_error TEXT,
    last_checked INTEGER,
    last_synced INTEGER
);
CREATE TABLE IF NOT EXISTS heads (
    author TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    infohash TEXT NOT NULL,
    item BLOB NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
    author TEXT NOT NULL,
    idx INTEGER NOT NULL,
    infohash TEXT NOT NULL,
    first INTEGER NOT NULL,
    count INTEGER NOT NULL,
    full INTEGER NOT NULL,
    PRIMARY KEY (author, idx)
);
CREATE TABLE IF NOT EXISTS profiles (
    author TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    bio TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS torrents (
    infohash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    post_id TEXT,
    added INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class StoredPost:
    """A post as the index holds it."""

    signed: SignedPost
    received: int

    @property
    def id(self) -> str:
        """Return the post id."""
        return self.signed.id


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


@dataclass(frozen=True)
class HeadRow:
    """The latest verified head item of an author (the bencoded BEP 44 item in ``item``)."""

    author: str
    seq: int
    count: int
    infohash: str
    item: bytes


@dataclass(frozen=True)
class PageRow:
    """Where one page of an author's log lives."""

    author: str
    index: int
    infohash: str
    first: int
    count: int
    full: bool


@dataclass(frozen=True)
class TorrentRow:
    """A torrent this node keeps: a feed page or a media bundle."""

    infohash: str
    kind: str
    author: str
    post_id: str | None


class Database:
    """Thin synchronous driver; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # executescript commits on its own; the schema statements are idempotent.
        self._conn.executescript(_SCHEMA)
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
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

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            return list(self._conn.execute(sql, args).fetchall())

    def is_empty(self) -> bool:
        """Return True when the index holds no posts, follows or heads."""
        rows = self._query(
            "SELECT (SELECT COUNT(*) FROM posts) + (SELECT COUNT(*) FROM follows)"
            " + (SELECT COUNT(*) FROM heads)"
        )
        return bool(rows[0][0] == 0)

    # posts -----------------------------------------------------------------------------------

    def add_posts(self, posts: Sequence[SignedPost], received: int) -> list[SignedPost]:
        """Insert verified posts; return those that were new."""
        added: list[SignedPost] = []
        with self._tx() as cur:
            for signed in posts:
                post = signed.post
                cur.execute(
                    "INSERT OR IGNORE INTO posts"
                    " (id, author, seq, created, received, text, media_infohash, raw)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        signed.id,
                        post.author.hex(),
                        post.seq,
                        post.created,
                        received,
                        post.text,
                        post.media.infohash.hex() if post.media else None,
                        signed.encode(),
                    ),
                )
                if cur.rowcount:
                    added.append(signed)
        return added

    def post(self, post_id: str) -> StoredPost | None:
        """Return the post with ``post_id`` or None."""
        rows = self._query("SELECT raw, received FROM posts WHERE id = ?", (post_id,))
        return _stored(rows[0]) if rows else None

    def post_by_media(self, infohash: str) -> StoredPost | None:
        """Return the post whose media bundle has ``infohash`` (v1 hex)."""
        rows = self._query(
            "SELECT raw, received FROM posts WHERE media_infohash = ? LIMIT 1", (infohash,)
        )
        return _stored(rows[0]) if rows else None

    def accepted_ids(self, author: str) -> dict[int, str]:
        """Return seq -> post id of every accepted post of ``author``."""
        rows = self._query("SELECT seq, id FROM posts WHERE author = ?", (author,))
        return {int(seq): str(pid) for seq, pid in rows}

    def post_count(self, author: str) -> int:
        """Return how many posts of ``author`` are stored."""
        return int(self._query("SELECT COUNT(*) FROM posts WHERE author = ?", (author,))[0][0])

    def timeline(
        self, authors: Sequence[str], limit: int, before: tuple[int, int, str] | None = None
    ) -> list[StoredPost]:
        """Return posts of ``authors``, newest first, strictly after the ``before`` cursor.

        Posts are ordered by (created, seq, id) descending; the cursor is that triple.
        """
        if not authors:
            return []
        marks = ",".join("?" for _ in authors)
        args: list[object] = list(authors)
        cursor_sql = ""
        if before is not None:
            cursor_sql = " AND (created, seq, id) < (?, ?, ?)"
            args += [before[0], before[1], before[2]]
        args.append(limit)
        rows = self._query(
            f"SELECT raw, received FROM posts WHERE author IN ({marks}){cursor_sql}"  # noqa: S608
            " ORDER BY created DESC, seq DESC, id DESC LIMIT ?",
            args,
        )
        return [_stored(row) for row in rows]

    # follows ---------------------------------------------------------------------------------

    def add_follow(self, author: str, now: int) -> bool:
        """Start following ``author``; return False if already followed."""
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO follows (author, added) VALUES (?, ?)", (author, now)
            )
            return cur.rowcount > 0

    def remove_follow(self, author: str) -> bool:
        """Stop following ``author``; return False if it was not followed."""
        with self._tx() as cur:
            cur.execute("DELETE FROM follows WHERE author = ?", (author,))
            return cur.rowcount > 0

    def is_followed(self, author: str) -> bool:
        """Return True if ``author`` is followed."""
        return bool(self._query("SELECT 1 FROM follows WHERE author = ?", (author,)))

    def set_follow_state(
        self,
        author: str,
        state: str,
        *,
        now: int,
        error: str | None = None,
        synced: bool = False,
    ) -> None:
        """Record the outcome of a sync attempt for ``author``."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE follows SET state = ?, last_error = ?, last_checked = ?,"
                " last_synced = CASE WHEN ? THEN ? ELSE last_synced END WHERE author = ?",
                (state, error, now, synced, now, author),
            )

    def follows(self) -> list[FollowRow]:
        """Return every followed author with its head seq and stored post count."""
        rows = self._query(
            "SELECT f.author, f.added, f.state, f.last_error, f.last_checked, f.last_synced,"
            " h.seq, (SELECT COUNT(*) FROM posts p WHERE p.author = f.author)"
            " FROM follows f LEFT JOIN heads h ON h.author = f.author ORDER BY f.added"
        )
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
            )
            for a, added, state, err, checked, synced, seq, count in rows
        ]

    def followed_authors(self) -> list[str]:
        """Return the hex keys of every followed author."""
        return [str(row[0]) for row in self._query("SELECT author FROM follows ORDER BY added")]

    # heads and pages -------------------------------------------------------------------------

    def head(self, author: str) -> HeadRow | None:
        """Return the stored head of ``author``."""
        rows = self._query(
            "SELECT author, seq, count, infohash, item FROM heads WHERE author = ?", (author,)
        )
        if not rows:
            return None
        a, seq, count, ih, item = rows[0]
        return HeadRow(str(a), int(seq), int(count), str(ih), bytes(item))

    def set_head(self, head: HeadRow, now: int) -> None:
        """Store ``head`` as the latest verified head of its author."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO heads (author, seq, count, infohash, item, updated)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (author) DO UPDATE SET seq = excluded.seq,"
                " count = excluded.count, infohash = excluded.infohash, item = excluded.item,"
                " updated = excluded.updated",
                (head.author, head.seq, head.count, head.infohash, head.item, now),
            )

    def pages(self, author: str) -> list[PageRow]:
        """Return the known pages of ``author``, oldest first."""
        rows = self._query(
            "SELECT author, idx, infohash, first, count, full FROM pages"
            " WHERE author = ? ORDER BY idx",
            (author,),
        )
        return [
            PageRow(str(a), int(i), str(ih), int(f), int(c), bool(full))
            for a, i, ih, f, c, full in rows
        ]

    def set_page(self, page: PageRow) -> None:
        """Record where a page of an author's log lives."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO pages (author, idx, infohash, first, count, full)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (author, idx) DO UPDATE SET"
                " infohash = excluded.infohash, first = excluded.first, count = excluded.count,"
                " full = excluded.full",
                (page.author, page.index, page.infohash, page.first, page.count, int(page.full)),
            )

    def set_profile(self, author: str, name: str, bio: str) -> None:
        """Store the latest profile an author published."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO profiles (author, name, bio) VALUES (?, ?, ?)"
                " ON CONFLICT (author) DO UPDATE SET name = excluded.name, bio = excluded.bio",
                (author, name, bio),
            )

    def profile(self, author: str) -> tuple[str, str] | None:
        """Return (name, bio) of ``author`` if known."""
        rows = self._query("SELECT name, bio FROM profiles WHERE author = ?", (author,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    # torrents --------------------------------------------------------------------------------

    def add_torrent(self, row: TorrentRow, now: int) -> None:
        """Remember a torrent this node keeps."""
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO torrents (infohash, kind, author, post_id, added)"
                " VALUES (?, ?, ?, ?, ?)",
                (row.infohash, row.kind, row.author, row.post_id, now),
            )

    def remove_torrent(self, infohash: str) -> None:
        """Forget a torrent."""
        with self._tx() as cur:
            cur.execute("DELETE FROM torrents WHERE infohash = ?", (infohash,))

    def torrents(self, author: str | None = None) -> list[TorrentRow]:
        """Return the torrents this node keeps, optionally only those of ``author``."""
        sql = "SELECT infohash, kind, author, post_id FROM torrents"
        args: tuple[object, ...] = ()
        if author is not None:
            sql += " WHERE author = ?"
            args = (author,)
        return [
            TorrentRow(str(ih), str(kind), str(a), None if pid is None else str(pid))
            for ih, kind, a, pid in self._query(sql + " ORDER BY added", args)
        ]

    def torrent(self, infohash: str) -> TorrentRow | None:
        """Return the torrent row for ``infohash``."""
        rows = self._query(
            "SELECT infohash, kind, author, post_id FROM torrents WHERE infohash = ?", (infohash,)
        )
        if not rows:
            return None
        ih, kind, a, pid = rows[0]
        return TorrentRow(str(ih), str(kind), str(a), None if pid is None else str(pid))


def _stored(row: Any) -> StoredPost:
    raw, received = row
    return StoredPost(decode_post(bytes(raw)), int(received))

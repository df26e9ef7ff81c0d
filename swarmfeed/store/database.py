"""SQLite (WAL) view of posts, follows, heads, pages, media and torrents.

The database is a rebuildable index: the truth is the signed logs on disk (the author's own log
under ``feed/``, followed authors' heads and pages). Everything here can be recreated from them
(``Node.rebuild_index``). One table per concept; they share one connection.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from swarmfeed.core.budget import Priority
from swarmfeed.store.blocks import BlockRow, BlockTable
from swarmfeed.store.feeds import FeedTable, HeadRow, PageRow
from swarmfeed.store.follows import FollowRow, FollowTable
from swarmfeed.store.foreign import ForeignPostTable
from swarmfeed.store.inbox import InboxTable
from swarmfeed.store.likes import LikeRow, LikeTable
from swarmfeed.store.media import MEDIA_USAGE_SCHEMA, MediaRow, MediaState, MediaTable
from swarmfeed.store.notifications import NotificationRow, NotificationTable
from swarmfeed.store.outbox import OutboxRow, OutboxTable
from swarmfeed.store.posts import Cursor, PostTable, StoredPost
from swarmfeed.store.profiles import ProfileRow, ProfileTable
from swarmfeed.store.social import SOCIAL_SCHEMA
from swarmfeed.store.sqlite import Connection, DatabaseError, rebuild_hint
from swarmfeed.store.tombstones import TombstoneTable
from swarmfeed.store.torrents import TorrentRow, TorrentTable

__all__ = [
    "BlockRow",
    "Cursor",
    "Database",
    "DatabaseError",
    "FollowRow",
    "HeadRow",
    "LikeRow",
    "MediaRow",
    "MediaState",
    "NotificationRow",
    "OutboxRow",
    "PageRow",
    "ProfileRow",
    "StoredPost",
    "TorrentRow",
]

SCHEMA_VERSION = 4

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created INTEGER NOT NULL,
    received INTEGER NOT NULL,
    sort_time INTEGER NOT NULL,
    text TEXT NOT NULL,
    media_infohash TEXT,
    raw BLOB NOT NULL,
    kind TEXT NOT NULL DEFAULT 'post',
    supported INTEGER NOT NULL DEFAULT 1,
    reply_to TEXT,
    reply_author TEXT,
    repost_of TEXT,
    repost_author TEXT,
    target TEXT,
    pending INTEGER NOT NULL DEFAULT 0,
    UNIQUE (author, seq)
);
CREATE INDEX IF NOT EXISTS posts_by_sort ON posts (sort_time DESC, created DESC, seq DESC, id DESC);
CREATE INDEX IF NOT EXISTS posts_by_author ON posts (author, seq DESC);
CREATE INDEX IF NOT EXISTS posts_by_author_time
    ON posts (author, sort_time DESC, created DESC, seq DESC, id DESC);
CREATE INDEX IF NOT EXISTS posts_by_media ON posts (media_infohash);
CREATE INDEX IF NOT EXISTS posts_by_reply ON posts (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX IF NOT EXISTS posts_by_repost ON posts (repost_of) WHERE repost_of IS NOT NULL;
CREATE INDEX IF NOT EXISTS posts_pending ON posts (pending) WHERE pending = 1;
CREATE TABLE IF NOT EXISTS follows (
    author TEXT PRIMARY KEY,
    added INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',
    last_error TEXT,
    last_checked INTEGER,
    last_synced INTEGER,
    kind TEXT NOT NULL DEFAULT 'follow'
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
    prev TEXT,
    PRIMARY KEY (author, idx)
);
CREATE TABLE IF NOT EXISTS profiles (
    author TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    bio TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT -1,
    links TEXT NOT NULL DEFAULT '',
    pay_kind TEXT,
    pay_address TEXT,
    avatar_post TEXT
);
CREATE TABLE IF NOT EXISTS torrents (
    infohash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    post_id TEXT,
    added INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS torrents_by_author ON torrents(author, added);
CREATE TABLE IF NOT EXISTS media (
    infohash TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    post_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    sort_time INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    retry_at REAL,
    updated INTEGER NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    last_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS media_queue ON media (state, priority DESC, sort_time DESC);
CREATE INDEX IF NOT EXISTS media_by_author ON media (author, state);
"""
    + MEDIA_USAGE_SCHEMA
    + SOCIAL_SCHEMA
)

# Version 2 had no follow kinds (mirrors), no record of requests and no media usage totals.
_COLUMNS_3 = (
    ("follows", "kind", "TEXT NOT NULL DEFAULT 'follow'"),
    ("media", "requests", "INTEGER NOT NULL DEFAULT 0"),
    ("media", "last_requested", "INTEGER NOT NULL DEFAULT 0"),
)

# Version 3 knew only the kind "post" (protocol version 1): no threads, reposts, deletes, likes,
# notices or blocks, and profiles had a name and a bio only.
_COLUMNS_4 = (
    ("posts", "kind", "TEXT NOT NULL DEFAULT 'post'"),
    ("posts", "supported", "INTEGER NOT NULL DEFAULT 1"),
    ("posts", "reply_to", "TEXT"),
    ("posts", "reply_author", "TEXT"),
    ("posts", "repost_of", "TEXT"),
    ("posts", "repost_author", "TEXT"),
    ("posts", "target", "TEXT"),
    ("posts", "pending", "INTEGER NOT NULL DEFAULT 0"),
    ("profiles", "seq", "INTEGER NOT NULL DEFAULT -1"),
    ("profiles", "links", "TEXT NOT NULL DEFAULT ''"),
    ("profiles", "pay_kind", "TEXT"),
    ("profiles", "pay_address", "TEXT"),
    ("profiles", "avatar_post", "TEXT"),
)

# Version 1 ordered timelines by the author's `created` alone (a hostile value sorted first
# forever), had no page `prev` and no media queue.
_MIGRATE_1_TO_2 = """
ALTER TABLE posts ADD COLUMN sort_time INTEGER NOT NULL DEFAULT 0;
UPDATE posts SET sort_time = MIN(created, received);
DROP INDEX IF EXISTS posts_by_time;
ALTER TABLE pages ADD COLUMN prev TEXT;
"""


class Database:
    """The node's index: one table object per concept over one connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = Connection(path)
        self.posts = PostTable(self._conn)
        self.follows = FollowTable(self._conn)
        self.feeds = FeedTable(self._conn)
        self.media = MediaTable(self._conn)
        self.torrents = TorrentTable(self._conn)
        self.foreign = ForeignPostTable(self._conn)
        self.tombstones = TombstoneTable(self._conn)
        self.likes = LikeTable(self._conn)
        self.notifications = NotificationTable(self._conn)
        self.blocks = BlockTable(self._conn)
        self.outbox = OutboxTable(self._conn)
        self.inbox = InboxTable(self._conn)
        self.profiles = ProfileTable(self._conn)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise DatabaseError(
                f"the index {path} is unreadable: {exc}. {rebuild_hint(path)}"
            ) from exc

    def _migrate(self) -> None:
        tables = {
            str(row[0])
            for row in self._conn.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        version = SCHEMA_VERSION
        if "meta" in tables:
            found = self._conn.scalar("SELECT value FROM meta WHERE key = 'schema'")
            version = int(found) if found is not None else SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"the index {self.path} has schema {version}, newer than this swarmfeed"
                f" ({SCHEMA_VERSION}); upgrade swarmfeed or delete the file to rebuild it"
            )
        if version == 1:
            self._conn.script(_MIGRATE_1_TO_2)
        if version in (1, 2):
            self._add_columns(tables, _COLUMNS_3)
        if version in (1, 2, 3):
            self._add_columns(tables, _COLUMNS_4)
        # executescript commits on its own; every statement is idempotent.
        self._conn.script(_SCHEMA)
        if version == 2:
            self.media.recount_usage()
        if version == 1:
            self._backfill_media()
        with self._conn.tx() as cur:
            cur.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    def _add_columns(self, tables: set[str], columns: tuple[tuple[str, str, str], ...]) -> None:
        """Add each missing column to the tables that exist (new tables get it from _SCHEMA)."""
        for table, column, declaration in columns:
            if table not in tables:
                continue
            present = {str(row[1]) for row in self._conn.query(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.script(f"ALTER TABLE {table} ADD COLUMN {column} {declaration};")

    def _backfill_media(self) -> None:
        """Create the media queue of a version-1 index from its posts and torrents (once)."""
        held = self.torrents.infohashes()
        rows = self._conn.query("SELECT id FROM posts WHERE media_infohash IS NOT NULL")
        backlog: list[MediaRow] = []
        for (post_id,) in rows:
            stored = self.posts.get(str(post_id))
            media = stored.signed.post.media if stored else None
            if stored is None or media is None:
                continue
            infohash = media.infohash.hex()
            state = MediaState.COMPLETE if infohash in held else MediaState.QUEUED
            backlog.append(
                MediaRow(
                    infohash,
                    media_author(stored),
                    stored.id,
                    media.total_size,
                    stored.sort_time,
                    Priority.BACKLOG,
                    state,
                    None,
                    None,
                )
            )
        self.media.add(backlog, 0)

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        self._conn.close()

    def is_empty(self) -> bool:
        """Return True when the index holds no posts, follows or heads."""
        total = self._conn.scalar(
            "SELECT (SELECT COUNT(*) FROM posts) + (SELECT COUNT(*) FROM follows)"
            " + (SELECT COUNT(*) FROM heads)"
        )
        return int(total) == 0

    def forget_author(self, author: str) -> list[str]:
        """Drop everything known of ``author``; return the infohashes of its torrents.

        Media of the author's posts that a followed author's repost still embeds stays (its
        post stays in the foreign posts): it is held for the repost now.
        """
        kept = self.foreign.held_media(author)
        torrents = [row.infohash for row in self.torrents.rows(author) if row.infohash not in kept]
        self.media.remove_author(author, keep=kept)
        self.posts.remove_author(author)
        self.feeds.forget(author)
        for infohash in torrents:
            self.torrents.remove(infohash)
        return torrents

    def media_of_reposted(self, author: str) -> list[str]:
        """Return the media infohashes held for reposts of ``author``'s posts."""
        rows = self._conn.query(
            "SELECT DISTINCT m.infohash FROM media m JOIN posts p ON p.repost_of = m.post_id"
            " WHERE p.repost_author = ?",
            (author,),
        )
        return [str(row[0]) for row in rows]

    def count_replies(self, post_id: str) -> int:
        """Return how many replies to ``post_id`` are held (followed logs and foreign posts)."""
        return int(
            self._conn.scalar(
                "SELECT (SELECT COUNT(*) FROM posts WHERE reply_to = ?)"
                " + (SELECT COUNT(*) FROM foreign_posts WHERE reply_to = ?)",
                (post_id, post_id),
            )
        )

    def find_post(self, post_id: str) -> StoredPost | None:
        """Return the post ``post_id`` from the followed logs, else from the foreign posts."""
        return self.posts.get(post_id) or self.foreign.get(post_id)

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[object]:
        """Run a read query (diagnostics and tests)."""
        return self._conn.query(sql, args)


def media_author(stored: StoredPost) -> str:
    """Return the hex key of the author of a stored post."""
    return stored.signed.post.author.hex()

"""The SQLite index: posts, timeline cursors, follows, heads, pages, torrents."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swarmfeed.core.budget import Priority
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MAX_CREATED, Post, SignedPost, sign_post
from swarmfeed.store.database import (
    Database,
    DatabaseError,
    HeadRow,
    MediaRow,
    MediaState,
    PageRow,
    TorrentRow,
)


def make_posts(keys: KeyPair, count: int, created: int = 1_700_000_000) -> list[SignedPost]:
    return [
        sign_post(Post(keys.public_key, seq, created + seq // 2, f"post {seq}"), keys)
        for seq in range(count)
    ]


def test_wal_mode_and_reopen(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    journal = db.query("PRAGMA journal_mode")[0]
    assert journal == ("wal",)
    keys = KeyPair.generate()
    db.posts.add(make_posts(keys, 2), 5)
    db.close()
    again = Database(tmp_path / "x.db")
    assert again.posts.count(keys.public_key.hex()) == 2


def test_posts_are_idempotent_and_paged_newest_first(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    keys = KeyPair.generate()
    posts = make_posts(keys, 7)
    assert len(db.posts.add(posts, 2_000_000_000)) == 7
    assert db.posts.add(posts, 2) == []
    author = keys.public_key.hex()
    seen: list[int] = []
    cursor = None
    while True:
        page = db.posts.timeline([author], 3, cursor)
        if not page:
            break
        seen += [p.signed.post.seq for p in page]
        cursor = page[-1].cursor
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    assert db.posts.accepted_ids(author) == {p.post.seq: p.id for p in posts}
    assert db.posts.accepted_ids(author, 2, 3) == {p.post.seq: p.id for p in posts[2:4]}
    stored = db.posts.get(posts[3].id)
    assert stored is not None and stored.signed == posts[3]
    assert db.posts.timeline([], 10) == []
    assert db.posts.max_seq(author) == 6


def test_a_post_dated_in_the_future_sorts_at_its_arrival(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    honest, hostile = KeyPair.generate(), KeyPair.generate()
    early = sign_post(Post(hostile.public_key, 0, MAX_CREATED, "first forever?"), hostile)
    db.posts.add([early], 1_700_000_000)
    late = sign_post(Post(honest.public_key, 0, 1_700_000_100, "posted later"), honest)
    db.posts.add([late], 1_700_000_100)
    shown = db.posts.timeline([honest.public_key.hex(), hostile.public_key.hex()], 10)
    assert [p.id for p in shown] == [late.id, early.id]


def test_follows_heads_pages_torrents(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    assert db.is_empty()
    author = "ab" * 32
    assert db.follows.add(author, 10)
    assert not db.follows.add(author, 11)
    assert db.follows.set_state(author, "synced", now=12, synced=True)
    assert not db.follows.set_state(author, "synced", now=13, synced=True)
    db.feeds.set_head(HeadRow(author, 3, 0, "cd" * 20, b"item"), 12)
    (row,) = db.follows.rows()
    assert (row.state, row.head_seq, row.last_synced, row.post_count) == ("synced", 3, 13, 0)
    db.feeds.set_page(PageRow(author, 0, "ef" * 20, 0, 64, True))
    db.feeds.set_page(PageRow(author, 1, "01" * 20, 64, 2, False, "ef" * 20))
    db.feeds.set_page(PageRow(author, 1, "02" * 20, 64, 3, False, "ef" * 20))
    assert [(p.index, p.infohash, p.count, p.prev) for p in db.feeds.pages(author)] == [
        (0, "ef" * 20, 64, None),
        (1, "02" * 20, 3, "ef" * 20),
    ]
    db.torrents.add(TorrentRow("02" * 20, "page", author, None), 1)
    assert db.torrents.get("02" * 20) == TorrentRow("02" * 20, "page", author, None)
    assert db.torrents.rows(author) and not db.torrents.rows("00" * 32)
    assert db.forget_author(author) == ["02" * 20]
    assert db.torrents.get("02" * 20) is None and db.feeds.pages(author) == []
    assert db.follows.remove(author)
    assert not db.follows.remove(author)


def test_media_queue_orders_by_priority_then_newest(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    author = "ab" * 32

    def row(n: int, prio: Priority, state: MediaState = MediaState.QUEUED) -> MediaRow:
        return MediaRow(f"{n:040x}", author, f"p{n}", 10 * n, 1000 + n, prio, state, None, None)

    db.media.add(
        [
            row(1, Priority.BACKLOG),
            row(2, Priority.BACKLOG),
            row(3, Priority.FRESH),
            row(4, Priority.BACKLOG, MediaState.SKIPPED),
        ],
        0,
    )
    assert [r.post_id for r in db.media.next(10, 0)] == ["p3", "p2", "p1"]
    assert [r.post_id for r in db.media.next(10, 0, Priority.FRESH)] == ["p3"]
    assert db.media.used_bytes(author) == 60
    db.media.set_state(f"{2:040x}", MediaState.QUEUED, 5, retry_at=100.0)
    assert [r.post_id for r in db.media.next(10, 50)] == ["p3", "p1"]
    assert db.media.next_retry() == 100.0
    db.media.set_state(f"{4:040x}", MediaState.QUEUED, 5, priority=Priority.OPENED)
    assert db.media.next(1, 200)[0].post_id == "p4"


def test_a_version_1_index_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    keys = KeyPair.generate()
    post = make_posts(keys, 1)[0]
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute(
        "INSERT INTO posts VALUES (?, ?, 0, ?, 5, 'x', NULL, ?)",
        (post.id, keys.public_key.hex(), MAX_CREATED, post.encode()),
    )
    conn.execute("INSERT INTO pages VALUES ('a', 0, 'ih', 0, 1, 0)")
    conn.commit()
    conn.close()
    db = Database(path)
    (stored,) = db.posts.timeline([keys.public_key.hex()], 5)
    assert stored.sort_time == 5
    assert db.feeds.pages("a")[0].prev is None
    assert db.query("SELECT value FROM meta WHERE key = 'schema'") == [("2",)]


def test_an_unreadable_index_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError, match=r"broken\.db"):
        Database(path)


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
CREATE TABLE posts (id TEXT PRIMARY KEY, author TEXT NOT NULL, seq INTEGER NOT NULL,
    created INTEGER NOT NULL, received INTEGER NOT NULL, text TEXT NOT NULL,
    media_infohash TEXT, raw BLOB NOT NULL, UNIQUE (author, seq));
CREATE INDEX posts_by_time ON posts (created DESC, seq DESC, id DESC);
CREATE TABLE pages (author TEXT NOT NULL, idx INTEGER NOT NULL, infohash TEXT NOT NULL,
    first INTEGER NOT NULL, count INTEGER NOT NULL, full INTEGER NOT NULL,
    PRIMARY KEY (author, idx));
"""

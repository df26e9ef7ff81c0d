"""The SQLite index: posts, timeline cursors, follows, heads, pages, torrents."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swarmfeed.core.budget import Priority
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MAX_CREATED, Post, SignedPost, sign_post
from swarmfeed.store.database import (
    SCHEMA_VERSION,
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
    assert db.query("SELECT value FROM meta WHERE key = 'schema'") == [(str(SCHEMA_VERSION),)]
    assert db.query("SELECT kind, supported, pending FROM posts") == [("post", 1, 0)]


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


def media_row(ih: str, author: str, size: int, sort_time: int, state: MediaState) -> MediaRow:
    return MediaRow(ih, author, "p" + ih, size, sort_time, Priority.BACKLOG, state, None, None)


def usage_of(db: Database) -> dict[tuple[str, str], tuple[int, int]]:
    return {(u.author, u.state.value): (u.bundles, u.bytes) for u in db.media.usage()}


def test_media_usage_follows_every_change(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    db.media.add(
        [
            media_row("a1", "a", 10, 1, MediaState.QUEUED),
            media_row("a2", "a", 20, 2, MediaState.QUEUED),
            media_row("b1", "b", 5, 3, MediaState.SKIPPED),
        ],
        0,
    )
    db.media.add([media_row("a1", "a", 10, 1, MediaState.QUEUED)], 0)  # known: ignored
    assert usage_of(db) == {("a", "queued"): (2, 30), ("b", "skipped"): (1, 5)}
    db.media.set_state("a1", MediaState.COMPLETE, 1)
    db.media.set_state("a1", MediaState.COMPLETE, 2)
    assert usage_of(db) == {
        ("a", "queued"): (1, 20),
        ("a", "complete"): (1, 10),
        ("b", "skipped"): (1, 5),
    }
    assert db.media.used_bytes("a") == 30 and db.media.used_bytes() == 30
    db.forget_author("a")
    assert usage_of(db) == {("b", "skipped"): (1, 5)}


def test_evictable_media_least_used_first_in_batches(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    rows = [media_row(f"m{i}", "a", 1, 1000 + i, MediaState.COMPLETE) for i in range(5)]
    rows.append(media_row("fetching", "a", 1, 0, MediaState.FETCHING))
    rows.append(media_row("other", "b", 1, 0, MediaState.COMPLETE))
    db.media.add(rows, 0)
    db.media.record_request("m0", 10**6)
    db.media.record_request("m0", 10**6 + 1)  # within the gap: counted once
    first = db.media.evictable(["a"], 2)
    assert [r.row.infohash for r in first] == ["m1", "m2"]
    last = first[-1]
    after = (float(last.row.sort_time), last.row.infohash)
    rest = db.media.evictable(["a"], 10, after)
    assert [r.row.infohash for r in rest] == ["m3", "m4", "m0"]
    assert (rest[-1].requests, rest[-1].last_requested) == (1, 10**6)
    assert db.media.evictable([], 5) == []


def test_a_version_2_index_gains_kinds_requests_and_usage(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    db = Database(path)
    db.follows.add("a", 1)
    db.media.add([media_row("a1", "a", 10, 1, MediaState.COMPLETE)], 0)
    db.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE media_usage; DROP TRIGGER media_usage_insert;"
        " DROP TRIGGER media_usage_update; DROP TRIGGER media_usage_delete;"
        " ALTER TABLE follows DROP COLUMN kind; ALTER TABLE media DROP COLUMN requests;"
        " ALTER TABLE media DROP COLUMN last_requested;"
        " UPDATE meta SET value = '2' WHERE key = 'schema';"
    )
    conn.close()
    again = Database(path)
    assert again.follows.kind("a") == "follow"
    assert usage_of(again) == {("a", "complete"): (1, 10)}
    assert again.query("SELECT value FROM meta WHERE key = 'schema'") == [(str(SCHEMA_VERSION),)]


def test_follow_kinds(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    assert db.follows.add("a", 1)
    assert db.follows.add("b", 2, "mirror")
    assert not db.follows.add("a", 3, "mirror")  # already followed: only the kind changes
    assert db.follows.kind("a") == "mirror" and db.follows.kind("z") is None
    assert db.follows.of_kind("mirror") == ["a", "b"]
    assert db.follows.kinds() == {"a": "mirror", "b": "mirror"}
    row = db.follows.row("b")
    assert row is not None and row.kind == "mirror"

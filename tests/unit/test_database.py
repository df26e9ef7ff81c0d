"""The SQLite index: posts, timeline cursors, follows, heads, pages, torrents."""

from __future__ import annotations

from pathlib import Path

from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import Post, SignedPost, sign_post
from swarmfeed.store.database import Database, HeadRow, PageRow, TorrentRow


def make_posts(keys: KeyPair, count: int, created: int = 1_700_000_000) -> list[SignedPost]:
    return [
        sign_post(Post(keys.public_key, seq, created + seq // 2, f"post {seq}"), keys)
        for seq in range(count)
    ]


def test_wal_mode_and_reopen(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    journal = db._query("PRAGMA journal_mode")[0][0]
    assert journal == "wal"
    keys = KeyPair.generate()
    db.add_posts(make_posts(keys, 2), 5)
    db.close()
    again = Database(tmp_path / "x.db")
    assert again.post_count(keys.public_key.hex()) == 2


def test_posts_are_idempotent_and_paged_newest_first(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    keys = KeyPair.generate()
    posts = make_posts(keys, 7)
    assert len(db.add_posts(posts, 1)) == 7
    assert db.add_posts(posts, 2) == []
    author = keys.public_key.hex()
    seen: list[int] = []
    cursor = None
    while True:
        page = db.timeline([author], 3, cursor)
        if not page:
            break
        seen += [p.signed.post.seq for p in page]
        last = page[-1].signed.post
        cursor = (last.created, last.seq, page[-1].id)
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    assert db.accepted_ids(author) == {p.post.seq: p.id for p in posts}
    stored = db.post(posts[3].id)
    assert stored is not None and stored.signed == posts[3]
    assert db.timeline([], 10) == []


def test_follows_heads_pages_torrents(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    assert db.is_empty()
    author = "ab" * 32
    assert db.add_follow(author, 10)
    assert not db.add_follow(author, 11)
    db.set_follow_state(author, "synced", now=12, synced=True)
    db.set_head(HeadRow(author, 3, 0, "cd" * 20, b"item"), 12)
    (row,) = db.follows()
    assert (row.state, row.head_seq, row.last_synced, row.post_count) == ("synced", 3, 12, 0)
    db.set_page(PageRow(author, 0, "ef" * 20, 0, 64, True))
    db.set_page(PageRow(author, 1, "01" * 20, 64, 2, False))
    db.set_page(PageRow(author, 1, "02" * 20, 64, 3, False))
    assert [(p.index, p.infohash, p.count) for p in db.pages(author)] == [
        (0, "ef" * 20, 64),
        (1, "02" * 20, 3),
    ]
    db.add_torrent(TorrentRow("02" * 20, "page", author, None), 1)
    assert db.torrent("02" * 20) == TorrentRow("02" * 20, "page", author, None)
    assert db.torrents(author) and not db.torrents("00" * 32)
    db.remove_torrent("02" * 20)
    assert db.torrent("02" * 20) is None
    assert db.remove_follow(author)
    assert not db.remove_follow(author)

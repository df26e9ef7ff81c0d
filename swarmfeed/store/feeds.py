"""Heads, pages and profiles: where each author's signed log stands and where its pages live."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection


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
    prev: str | None = None
    """The v1 infohash (hex) of the page before it, as the page names it."""


class FeedTable:
    """Each author's latest head, the pages of its chain, and its profile."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def head(self, author: str) -> HeadRow | None:
        """Return the stored head of ``author``."""
        rows = self._db.query(
            "SELECT author, seq, count, infohash, item FROM heads WHERE author = ?", (author,)
        )
        if not rows:
            return None
        a, seq, count, ih, item = rows[0]
        return HeadRow(str(a), int(seq), int(count), str(ih), bytes(item))

    def set_head(self, head: HeadRow, now: int) -> None:
        """Store ``head`` as the latest verified head of its author."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO heads (author, seq, count, infohash, item, updated)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (author) DO UPDATE SET seq = excluded.seq,"
                " count = excluded.count, infohash = excluded.infohash, item = excluded.item,"
                " updated = excluded.updated",
                (head.author, head.seq, head.count, head.infohash, head.item, now),
            )

    def pages(self, author: str) -> list[PageRow]:
        """Return the known pages of ``author``, oldest first."""
        rows = self._db.query(
            "SELECT author, idx, infohash, first, count, full, prev FROM pages"
            " WHERE author = ? ORDER BY idx",
            (author,),
        )
        return [
            PageRow(str(a), int(i), str(ih), int(f), int(c), bool(full), prev)
            for a, i, ih, f, c, full, prev in rows
        ]

    def page_count(self) -> int:
        """Return the pages of every author held (the index's count, about posts / 64)."""
        return int(self._db.scalar("SELECT COUNT(*) FROM pages"))

    def page(self, author: str, index: int) -> PageRow | None:
        """Return page ``index`` of ``author`` if known."""
        return next((p for p in self.pages(author) if p.index == index), None)

    def set_page(self, page: PageRow) -> None:
        """Record where a page of an author's log lives."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO pages (author, idx, infohash, first, count, full, prev)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (author, idx) DO UPDATE SET"
                " infohash = excluded.infohash, first = excluded.first, count = excluded.count,"
                " full = excluded.full, prev = excluded.prev",
                (
                    page.author,
                    page.index,
                    page.infohash,
                    page.first,
                    page.count,
                    int(page.full),
                    page.prev,
                ),
            )

    def set_profile(self, author: str, name: str, bio: str, seq: int = -1) -> None:
        """Store the profile of an author's newest version-1 page (``seq``: its last post).

        A profile entry (version 2) with a higher seq wins over it (store/profiles.py).
        """
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO profiles (author, name, bio, seq) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (author) DO UPDATE SET name = excluded.name, bio = excluded.bio,"
                " seq = excluded.seq, links = '', pay_kind = NULL, pay_address = NULL,"
                " avatar_post = NULL WHERE excluded.seq >= profiles.seq",
                (author, name, bio, seq),
            )

    def profile(self, author: str) -> tuple[str, str] | None:
        """Return (name, bio) of ``author`` if known."""
        rows = self._db.query("SELECT name, bio FROM profiles WHERE author = ?", (author,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def forget(self, author: str) -> None:
        """Drop the head, pages and profile of ``author``."""
        with self._db.tx() as cur:
            for table in ("heads", "pages", "profiles"):
                cur.execute(f"DELETE FROM {table} WHERE author = ?", (author,))  # noqa: S608

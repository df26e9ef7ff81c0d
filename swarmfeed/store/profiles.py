"""Profiles: each author's newest self-description (protocol.md §3.2 ``profile``; v1 pages)."""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.store.sqlite import Connection


@dataclass(frozen=True)
class ProfileRow:
    """An author's newest profile; ``seq`` is the entry's (a version-1 page: its last seq)."""

    author: str
    name: str
    bio: str
    seq: int
    links: tuple[str, ...] = ()
    pay_kind: str | None = None
    pay_address: str | None = None
    avatar_post: str | None = None
    """The profile entry whose media is the avatar (one image)."""


class ProfileTable:
    """Profiles by author; newest wins (by seq)."""

    def __init__(self, conn: Connection) -> None:
        self._db = conn

    def set(self, row: ProfileRow) -> bool:
        """Store ``row`` unless a profile with a higher seq is known; return whether stored."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO profiles (author, name, bio, seq, links, pay_kind, pay_address,"
                " avatar_post) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (author) DO UPDATE SET"
                " name = excluded.name, bio = excluded.bio, seq = excluded.seq,"
                " links = excluded.links, pay_kind = excluded.pay_kind,"
                " pay_address = excluded.pay_address, avatar_post = excluded.avatar_post"
                " WHERE excluded.seq >= profiles.seq",
                (
                    row.author,
                    row.name,
                    row.bio,
                    row.seq,
                    "\n".join(row.links),
                    row.pay_kind,
                    row.pay_address,
                    row.avatar_post,
                ),
            )
            return cur.rowcount > 0

    def get(self, author: str) -> ProfileRow | None:
        """Return the newest profile of ``author``."""
        rows = self._db.query(
            "SELECT author, name, bio, seq, links, pay_kind, pay_address, avatar_post"
            " FROM profiles WHERE author = ?",
            (author,),
        )
        if not rows:
            return None
        a, name, bio, seq, links, kind, address, avatar = rows[0]
        return ProfileRow(
            str(a),
            str(name),
            str(bio),
            int(seq),
            tuple(line for line in str(links).split("\n") if line),
            None if kind is None else str(kind),
            None if address is None else str(address),
            None if avatar is None else str(avatar),
        )

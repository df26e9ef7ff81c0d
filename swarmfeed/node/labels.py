"""What a person calls a torrent: the post's file names and author, or whose feed page it is."""

from __future__ import annotations

from swarmfeed.core.identity import short_key
from swarmfeed.store.database import Database, StoredPost, TorrentRow

SHOWN_FILES = 3
"""File names a label lists before it says how many more there are."""


def author_name(db: Database, author: str) -> str:
    """Return an author's display name, or the short form of the key."""
    if not author:
        return "unknown"
    profile = db.feeds.profile(author)
    return profile[0] if profile and profile[0] else short_key(author)


def torrent_label(db: Database, row: TorrentRow | None, fallback: str) -> str:
    """Return ``clip.webm, cover.png — Alice`` for media, ``feed page of Alice`` for a page.

    ``fallback`` (the torrent's own name) is used for torrents swarmfeed does not know.
    """
    if row is None:
        return fallback
    name = author_name(db, row.author or "")
    if row.kind == "page":
        return f"feed page of {name}"
    stored = torrent_post(db, row)
    media = stored.signed.post.media if stored else None
    if media is None:
        return fallback
    files = ", ".join(f.path for f in media.files[:SHOWN_FILES])
    more = f" +{len(media.files) - SHOWN_FILES}" if len(media.files) > SHOWN_FILES else ""
    return f"{files}{more} — {name}"


def torrent_post(db: Database, row: TorrentRow | None) -> StoredPost | None:
    """Return the post a media torrent belongs to.

    A node's own media torrent is made before its post is signed, so its row names no post;
    the post is then found by the media's infohash.
    """
    if row is None or row.kind != "media":
        return None
    return db.posts.get(row.post_id) if row.post_id else db.posts.by_media(row.infohash)

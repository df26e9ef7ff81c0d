"""Made-up feeds of many authors, written cheaply in one process (tests and benchmarks).

``generate_feed`` writes one author's whole feed the way a swarmfeed node would publish it —
signed posts with small media bundles (hybrid torrents), the chain of pages (v1 torrents with
16 KiB pieces), and the signed head — into ``<root>/content/<infohash>/``. One process can then
seed the torrents of many authors from one libtorrent session and put their heads into the DHT
(``scripts/feedhost.py``), instead of one node process per author.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item
from swarmfeed.core.feed import FeedPage, HeadPointer, encode_head_value, next_page
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MediaFile, MediaRef, Post, SignedPost, sign_post
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.types import CreatedTorrent
from swarmfeed.store.keystore import save_keys

PAGE_PIECE_BYTES = 16 * 1024


@dataclass
class GeneratedFeed:
    """One author's generated feed: every torrent is under ``root/content/<infohash>/``."""

    keys: KeyPair
    posts: list[SignedPost]
    pages: list[CreatedTorrent]
    media: list[CreatedTorrent]
    head: MutableItem
    newest: FeedPage

    @property
    def author(self) -> str:
        """Return the author's hex key."""
        return self.keys.public_key.hex()

    def torrents(self) -> Iterator[CreatedTorrent]:
        """Return every torrent of the feed, pages first."""
        yield from self.pages
        yield from self.media


def keys_for(index: int, salt: bytes = b"scale") -> KeyPair:
    """Return a deterministic key pair (generated feeds are reproducible)."""
    seed = (salt + index.to_bytes(8, "big")).ljust(32, b"\x00")[:32]
    return KeyPair.from_seed(seed)


def signed_posts(keys: KeyPair, count: int, created: int, first: int = 0) -> list[SignedPost]:
    """Return ``count`` signed text posts of ``keys`` from seq ``first``, one second apart."""
    return [
        sign_post(Post(keys.public_key, seq, created + seq, f"post {seq} of many"), keys)
        for seq in range(first, first + count)
    ]


def _place(root: Path, staging: Path, created: CreatedTorrent) -> None:
    """Move a torrent's staged folder to ``root/content/<infohash>/``."""
    final = root / "content" / created.infohash.hex()
    if final.exists():
        shutil.rmtree(staging, ignore_errors=True)
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(final)


def media_bundle(root: Path, seq: int, size: int) -> tuple[MediaRef, CreatedTorrent]:
    """Write ``size`` random bytes as post ``seq``'s media and hash it (hybrid torrent)."""
    staging = root / "staging" / f"media-{seq}-{os.urandom(4).hex()}"
    folder = staging / f"post-{seq}"
    folder.mkdir(parents=True)
    (folder / "clip.bin").write_bytes(os.urandom(size))
    created = create_torrent(folder)
    assert created.infohash_v2 is not None
    _place(root, staging, created)
    ref = MediaRef(
        created.infohash,
        created.infohash_v2,
        created.name,
        (MediaFile("clip.bin", size, "application/octet-stream"),),
    )
    return ref, created


def page_torrent(root: Path, page: FeedPage) -> CreatedTorrent:
    """Write ``page`` as a v1 single-file torrent with 16 KiB pieces (protocol.md §5)."""
    staging = root / "staging" / f"page-{page.index}-{os.urandom(4).hex()}"
    staging.mkdir(parents=True)
    path = staging / page.file_name
    path.write_bytes(page.encode())
    created = create_torrent(path, v1_only=True, piece_size=PAGE_PIECE_BYTES)
    _place(root, staging, created)
    return created


def publish_post(
    root: Path, feed: GeneratedFeed | None, keys: KeyPair, text: str, created: int, media_size: int
) -> GeneratedFeed:
    """Append one post (with media when ``media_size``) to ``feed``; return the new feed."""
    seq = len(feed.posts) if feed else 0
    ref, bundle = media_bundle(root, seq, media_size) if media_size else (None, None)
    post = sign_post(Post(keys.public_key, seq, created, text, ref), keys)
    newest = feed.newest if feed else None
    newest_ih = feed.pages[-1].infohash if feed else None
    page = next_page(newest, newest_ih, post, None)
    created_page = page_torrent(root, page)
    pages = list(feed.pages) if feed else []
    if newest is not None and not newest.is_full:
        pages.pop()  # the replaced newest page
    pages.append(created_page)
    head_seq = feed.head.seq + 1 if feed else 1
    head = sign_item(
        keys.seed, encode_head_value(HeadPointer(created_page.infohash, seq + 1)), head_seq
    )
    return GeneratedFeed(
        keys,
        [*(feed.posts if feed else []), post],
        pages,
        [*(feed.media if feed else []), *([bundle] if bundle else [])],
        head,
        page,
    )


def generate_feed(
    root: Path, keys: KeyPair, posts: int, media_size: int, created: int
) -> GeneratedFeed:
    """Write a whole feed of ``posts`` posts, each with ``media_size`` bytes of media."""
    signed: list[SignedPost] = []
    media: list[CreatedTorrent] = []
    for seq in range(posts):
        ref, bundle = media_bundle(root, seq, media_size) if media_size else (None, None)
        signed.append(
            sign_post(Post(keys.public_key, seq, created + seq, f"post {seq}", ref), keys)
        )
        if bundle is not None:
            media.append(bundle)
    pages: list[CreatedTorrent] = []
    newest: FeedPage | None = None
    for position, post in enumerate(signed):
        newest = next_page(newest, pages[-1].infohash if pages else None, post, None)
        if newest.is_full or position == len(signed) - 1:
            pages.append(page_torrent(root, newest))
    assert newest is not None
    head = sign_item(keys.seed, encode_head_value(HeadPointer(pages[-1].infohash, len(signed))), 1)
    shutil.rmtree(root / "staging", ignore_errors=True)
    return GeneratedFeed(keys, signed, pages, media, head, newest)


def head_bytes(item: MutableItem) -> bytes:
    """Return the on-disk encoding of a head item."""
    return bencoding.encode(item.to_bencodable())


def write_author_home(home: Path, feed: GeneratedFeed) -> None:
    """Lay ``feed`` out as a node's own log in ``home`` (generated with ``root=home``).

    The key file, ``feed/posts/<seq>.bencode``, the signed head and its seq: a node started on
    this home rebuilds its index from them and seeds the feed's pages and media from
    ``content/`` (their files hash right), as if it had published every post itself.
    """
    save_keys(home / "identity.key", feed.keys)
    posts = home / "feed" / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    for signed in feed.posts:
        (posts / f"{signed.post.seq}.bencode").write_bytes(signed.encode())
    (home / "feed" / "head.bencode").write_bytes(head_bytes(feed.head))
    (home / "feed" / "head_seq").write_text(f"{feed.head.seq}\n")

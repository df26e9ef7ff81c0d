"""The author's own log on disk (``feed/``): the truth the node publishes from.

``feed/head_seq`` holds the last BEP 44 seq signed (written before each signature),
``feed/head.bencode`` the latest signed head, and ``feed/posts/<seq>.bencode`` every signed
post, written before anything else happens to it (a write-ahead record: a post on disk is
published, at the latest when the node starts again). Pages are derived from these posts.
"""

from __future__ import annotations

import logging
from pathlib import Path

from swarmfeed.core import bencoding
from swarmfeed.core.authoring import contiguous_count
from swarmfeed.core.bep44 import MutableItem, verify_item
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MAX_POST_BYTES, SignedPost, decode_post, verify_post
from swarmfeed.errors import InvalidInput, SwarmfeedError
from swarmfeed.node.layout import HomeLayout
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.ownlog")

MAX_ITEM_BYTES = 4096


class OwnLog:
    """Reads and writes the author's own head seq, head item and signed posts."""

    def __init__(self, layout: HomeLayout, keys: KeyPair) -> None:
        self.layout = layout
        self.keys = keys

    # head seq and head -----------------------------------------------------------------------

    def seq_file(self) -> int | None:
        """Return the last head seq signed, or None when the record is missing or unreadable."""
        try:
            text = self.layout.head_seq.read_text().strip()
        except FileNotFoundError:
            return None
        if not text.isdigit() or len(text) > 19:
            log.error("%s holds %r, not a seq; treating it as missing", self.layout.head_seq, text)
            return None
        return int(text)

    def write_seq(self, seq: int) -> None:
        """Record ``seq`` as the last head seq signed (before the signature exists)."""
        atomic_write(self.layout.head_seq, f"{seq}\n".encode())

    def mark_fresh(self) -> None:
        """Record that this identity was made here and has signed nothing (seq 0)."""
        if self.seq_file() is None:
            self.write_seq(0)

    def head(self) -> MutableItem | None:
        """Return our latest signed head from disk, or None when missing or not ours/valid."""
        path = self.layout.own_head
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            item = MutableItem.from_bencodable(bencoding.decode(data, max_size=MAX_ITEM_BYTES))
            verify_item(item)
        except InvalidInput as exc:
            log.error("%s is not a valid head (%s); treating it as missing", path, exc)
            return None
        if item.public_key != self.keys.public_key:
            log.error("%s is signed by another key; treating it as missing", path)
            return None
        return item

    def write_head(self, item: MutableItem) -> None:
        """Store our latest signed head."""
        atomic_write(self.layout.own_head, bencoding.encode(item.to_bencodable()))

    # posts -----------------------------------------------------------------------------------

    def _post_path(self, seq: int) -> Path:
        return self.layout.own_posts / f"{seq}.bencode"

    def write_post(self, signed: SignedPost) -> None:
        """Write a signed post of ours (the write-ahead record of its publication)."""
        if signed.post.author != self.keys.public_key:
            raise SwarmfeedError("only this author's posts belong in its own log")
        atomic_write(self._post_path(signed.post.seq), signed.encode())

    def post(self, seq: int) -> SignedPost | None:
        """Return our signed post ``seq``, or None when missing or damaged (logged)."""
        path = self._post_path(seq)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            signed = decode_post(data[: MAX_POST_BYTES + 1])
            verify_post(signed, self.keys.public_key)
        except InvalidInput as exc:
            log.error("%s is damaged (%s); it will be rewritten from another copy", path, exc)
            return None
        if signed.post.seq != seq:
            log.error("%s holds post seq %d", path, signed.post.seq)
            return None
        return signed

    def written_seqs(self) -> set[int]:
        """Return the seqs that have a post file (contents not checked)."""
        folder = self.layout.own_posts
        if not folder.is_dir():
            return set()
        seqs: set[int] = set()
        for path in folder.iterdir():
            stem = path.name.removesuffix(".bencode")
            if path.name.endswith(".bencode") and stem.isdigit():
                seqs.add(int(stem))
        return seqs

    def posts_written(self) -> int:
        """Return how many posts are on disk from seq 0 without a gap."""
        return contiguous_count(self.written_seqs())

"""Feed pages, page chaining and the head acceptance policy (protocol.md §5, §6)."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KEY_BYTES
from swarmfeed.core.kinds import MAX_PROFILE_BIO_BYTES, MAX_PROFILE_NAME_BYTES
from swarmfeed.core.mediaref import ANY_KEY
from swarmfeed.core.posts import SignedPost, check_keys, decode_post, verify_post
from swarmfeed.errors import BencodeError, InvalidInput, RolledBack, TooLarge, WrongAuthor

__all__ = ["MAX_PROFILE_BIO_BYTES", "MAX_PROFILE_NAME_BYTES"]

PAGE_CAPACITY = 64
MAX_PAGE_BYTES = 8 * 1024 * 1024
MAX_HEAD_VALUE_BYTES = 1000
PAGE_VERSION = 2
"""The newest page version this reader walks (a newer one needs a newer swarmfeed)."""
SHA256_BYTES = 32

_PAGE_KEYS = frozenset({b"version", b"author", b"index", b"first", b"capacity", b"posts"})
_OPTIONAL_PAGE_KEYS = frozenset({b"prev", b"profile"})
_PROFILE_KEYS = frozenset({b"name", b"bio"})


def page_sha256(data: bytes) -> bytes:
    """Return the SHA-256 of a page's bytes (the head's ``h``, the next page's ``prevh``)."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class Profile:
    """An author's self-description, carried on the newest page."""

    name: str
    bio: str

    def validate(self) -> None:
        """Raise TooLarge unless name and bio fit protocol.md §9."""
        for name, value, limit in (
            ("profile name", self.name, MAX_PROFILE_NAME_BYTES),
            ("profile bio", self.bio, MAX_PROFILE_BIO_BYTES),
        ):
            size = len(value.encode("utf-8"))
            if size > limit:
                raise TooLarge(f"{name} is {size} bytes, the limit is {limit}")

    def to_bencodable(self) -> dict[str, Any]:
        """Return the ``profile`` dict of a page."""
        return {"name": self.name, "bio": self.bio}

    @classmethod
    def from_bencodable(cls, value: Any) -> Profile:
        """Return the profile in a decoded ``profile`` dict, checking keys and sizes."""
        profile = bencoding.dictionary(value, "profile")
        check_keys(profile, _PROFILE_KEYS, frozenset(), "profile")
        return cls(
            bencoding.text(profile[b"name"], "profile name", max_bytes=MAX_PROFILE_NAME_BYTES),
            bencoding.text(profile[b"bio"], "profile bio", max_bytes=MAX_PROFILE_BIO_BYTES),
        )


@dataclass(frozen=True)
class FeedPage:
    """One page of an author's feed (protocol.md §5).

    A page is version 2 when it holds a post of version 2 or later, else version 1 (so a full
    page is rebuilt byte for byte from its posts); ``declared_version`` is what a decoded page
    said. Version 2 pages carry ``prevh`` and no profile.
    """

    author: bytes
    index: int
    first: int
    capacity: int
    prev: bytes | None
    posts: tuple[SignedPost, ...]
    profile: Profile | None = None
    prevh: bytes | None = None
    declared_version: int | None = field(default=None, compare=False)

    @property
    def version(self) -> int:
        """Return the page's format version."""
        if self.declared_version is not None:
            return self.declared_version
        return 2 if any(post.post.version >= 2 for post in self.posts) else 1

    @property
    def file_name(self) -> str:
        """Return the page torrent's file name."""
        return f"swarmfeed-{self.author.hex()[:16]}-page-{self.index}.bencode"

    @property
    def is_full(self) -> bool:
        """Return whether the page holds ``capacity`` posts and so never changes again."""
        return len(self.posts) >= self.capacity

    @property
    def last_seq(self) -> int:
        """Return the seq of the last post (``first - 1`` for an empty page)."""
        return self.first + len(self.posts) - 1

    def to_bencodable(self) -> dict[str, Any]:
        """Return the page dict of protocol.md §5."""
        value: dict[str, Any] = {
            "version": self.version,
            "author": self.author,
            "index": self.index,
            "first": self.first,
            "capacity": self.capacity,
            "posts": [post.to_bencodable() for post in self.posts],
        }
        if self.prev is not None:
            value["prev"] = self.prev
        if self.version == 1 and self.profile is not None:
            value["profile"] = self.profile.to_bencodable()
        if self.version >= 2 and self.prevh is not None:
            value["prevh"] = self.prevh
        return value

    def encode(self) -> bytes:
        """Return the canonical bencoding of the page (not validated: see verify_page)."""
        return bencoding.encode(self.to_bencodable())


def decode_page(data: bytes) -> FeedPage:
    """Decode a page strictly (structure and limits); signatures are checked by verify_page.

    Version 1 pages have exactly the keys of version 1; a version 2 page may carry keys this
    reader does not know (ignored: the bytes are stored as received). A newer version is
    refused: page versions change only when walking the chain changes.
    """
    page = bencoding.dictionary(bencoding.decode(data, max_size=MAX_PAGE_BYTES), "page")
    if b"version" not in page:
        raise BencodeError("page lacks version")
    version = bencoding.integer(page[b"version"], "page version", minimum=1)
    if version > PAGE_VERSION:
        raise InvalidInput(f"page version {version} needs a newer swarmfeed")
    check_keys(page, _PAGE_KEYS, _OPTIONAL_PAGE_KEYS if version == 1 else ANY_KEY, "page")
    raw_posts = page[b"posts"]
    if not isinstance(raw_posts, list):
        raise BencodeError("page posts must be a list")
    prev = page.get(b"prev")
    profile = page.get(b"profile") if version == 1 else None
    prevh = page.get(b"prevh") if version >= 2 else None
    return FeedPage(
        author=bencoding.binary(page[b"author"], "page author", length=KEY_BYTES),
        index=bencoding.integer(page[b"index"], "page index", minimum=0),
        first=bencoding.integer(page[b"first"], "page first", minimum=0),
        capacity=bencoding.integer(page[b"capacity"], "page capacity", minimum=1),
        prev=None if prev is None else bencoding.binary(prev, "page prev", length=20),
        posts=tuple(decode_post(bencoding.dictionary(raw, "page post")) for raw in raw_posts),
        profile=None if profile is None else Profile.from_bencodable(profile),
        prevh=None if prevh is None else bencoding.binary(prevh, "page prevh", length=32),
        declared_version=version,
    )


def verify_page(page: FeedPage, author: bytes) -> None:
    """Raise unless ``page`` is a valid page of ``author`` with every post signed (§5)."""
    if page.author != author:
        raise WrongAuthor(f"page by {page.author.hex()[:16]}, expected {author.hex()[:16]}")
    if page.capacity != PAGE_CAPACITY:
        raise InvalidInput(f"page capacity is {page.capacity}, pages hold {PAGE_CAPACITY}")
    if page.index < 0 or page.first != page.index * page.capacity:
        raise InvalidInput(f"page {page.index} starts at seq {page.first}, not index * capacity")
    if len(page.posts) > page.capacity:
        raise InvalidInput(f"page holds {len(page.posts)} posts, capacity is {page.capacity}")
    if (page.prev is None) != (page.index == 0):
        raise InvalidInput("page has prev if and only if its index is not 0")
    if page.version >= 2 and (page.prevh is None) != (page.index == 0):
        raise InvalidInput("a version 2 page has prevh if and only if its index is not 0")
    for offset, signed in enumerate(page.posts):
        if signed.post.seq != page.first + offset:
            raise InvalidInput(
                f"page post seqs are not contiguous: found {signed.post.seq} "
                f"where {page.first + offset} belongs"
            )
        verify_post(signed, author)


def next_page(
    newest: FeedPage | None,
    newest_infohash: bytes | None,
    post: SignedPost,
    profile: Profile | None,
    *,
    prev_sha256: bytes | None = None,
) -> FeedPage:
    """Return the newest page after appending ``post``: the same page, or a new one if full.

    ``profile`` goes on the returned page unless appending filled it or it is a version 2
    page (version 2 publishes profiles as posts). A new page names the full one before it by
    infohash (``prev``) and, in version 2, by the SHA-256 of its bytes (``prevh``);
    ``prev_sha256`` is that hash for a version 1 page that becomes version 2 by this append.
    """
    if profile is not None:
        profile.validate()
    if newest is None:
        if post.post.seq != 0:
            raise InvalidInput(f"the first post must have seq 0, not {post.post.seq}")
        return FeedPage(post.post.author, 0, 0, PAGE_CAPACITY, None, (post,), profile)
    if post.post.author != newest.author:
        raise WrongAuthor("the post's author is not the feed's author")
    if post.post.seq != newest.last_seq + 1:
        raise InvalidInput(
            f"the next post must have seq {newest.last_seq + 1}, not {post.post.seq}"
        )
    if not newest.is_full:
        page = FeedPage(
            newest.author,
            newest.index,
            newest.first,
            newest.capacity,
            newest.prev,
            (*newest.posts, post),
            profile,
            newest.prevh if newest.version >= 2 else prev_sha256,
        )
        if page.version >= 2:
            page = replace(page, profile=None)
            if page.index > 0 and page.prevh is None:
                raise InvalidInput("a version 2 page needs the SHA-256 of the page before it")
        else:
            page = replace(page, prevh=None)
        # A full page never changes again and carries no profile (the newest page does), so it
        # can be rebuilt byte for byte from its posts alone (protocol.md §5).
        return replace(page, profile=None) if page.is_full else page
    if newest_infohash is None or len(newest_infohash) != 20:
        raise InvalidInput("a new page needs the 20-byte v1 infohash of the full page before it")
    index = newest.index + 1
    page = FeedPage(
        newest.author,
        index,
        index * PAGE_CAPACITY,
        PAGE_CAPACITY,
        newest_infohash,
        (post,),
        None if post.post.version >= 2 else profile,
        page_sha256(newest.encode()) if post.post.version >= 2 else None,
    )
    return page


@dataclass(frozen=True)
class HeadPointer:
    """The BEP 46 head value: the newest page's v1 infohash and the feed's post count (§6).

    ``sha256`` (``h``, version 2) is the SHA-256 of the newest page's bytes, so the chain of
    pages does not rest on SHA-1 alone.
    """

    infohash: bytes
    count: int
    sha256: bytes | None = None


def encode_head_value(head: HeadPointer) -> bytes:
    """Return the canonical bencoded head value ``{"h": ..., "ih": ..., "n": ...}``."""
    bencoding.binary(head.infohash, "head ih", length=20)
    bencoding.integer(head.count, "head n", minimum=0)
    value: dict[str, Any] = {"ih": head.infohash, "n": head.count}
    if head.sha256 is not None:
        value["h"] = bencoding.binary(head.sha256, "head h", length=SHA256_BYTES)
    return bencoding.encode(value)


def decode_head_value(value: bytes) -> HeadPointer:
    """Decode a head value; extra keys are ignored (BEP 46), size is at most 1,000 bytes."""
    if len(value) > MAX_HEAD_VALUE_BYTES:
        raise TooLarge(f"head value is {len(value)} bytes, the limit is {MAX_HEAD_VALUE_BYTES}")
    head = bencoding.dictionary(bencoding.decode(value), "head value")
    sha = head.get(b"h")
    return HeadPointer(
        bencoding.binary(head.get(b"ih"), "head ih", length=20),
        bencoding.integer(head.get(b"n"), "head n", minimum=0),
        None if sha is None else bencoding.binary(sha, "head h", length=SHA256_BYTES),
    )


class HeadVerdict(enum.Enum):
    """How a verified head compares with the one already held."""

    NEW = "new"
    SAME = "same"


def judge_head(
    known_seq: int | None, known_value: bytes | None, known_count: int, seq: int, value: bytes
) -> HeadVerdict:
    """Apply protocol.md §6 to a signature-checked head; raise RolledBack when it goes back.

    ``known_count`` is the number of posts already accepted for the author; ``known_value``
    None with a known seq means the stored value is unknown, so an equal seq is judged SAME.
    """
    pointer = decode_head_value(value)
    if known_seq is not None and seq < known_seq:
        raise RolledBack(f"head rolled back: seq {seq} is lower than the known seq {known_seq}")
    same = known_seq is not None and seq == known_seq
    if same and known_value is not None and value != known_value:
        raise RolledBack(f"head replayed or equivocating: seq {seq} again with a different value")
    if pointer.count < known_count:
        raise RolledBack(
            f"rewritten log: head has {pointer.count} posts, {known_count} were already accepted"
        )
    return HeadVerdict.SAME if same else HeadVerdict.NEW


def check_log_consistency(accepted: Mapping[int, str], page: FeedPage) -> None:
    """Raise RolledBack if ``page`` holds an already accepted seq with a different post id."""
    for signed in page.posts:
        known = accepted.get(signed.post.seq)
        if known is not None and known != signed.id:
            raise RolledBack(
                f"rewritten log: post seq {signed.post.seq} is {signed.id[:16]}, "
                f"{known[:16]} was accepted before"
            )

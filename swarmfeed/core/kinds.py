"""The fields of version-2 post kinds (protocol.md §3.2): references, profiles, mentions.

Each value here is what a kind adds to a post: a reply names its parent (and the thread's
root) by post id and author, a profile carries a name, a bio, links and a payment address.
Parsing checks shapes and bounds; keys a kind does not define are ignored (and stay in the
signed bytes). Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KEY_BYTES
from swarmfeed.core.mediaref import ANY_KEY, check_keys
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge

POST = "post"
REPLY = "reply"
REPOST = "repost"
LIKE = "like"
DELETE = "delete"
PROFILE = "profile"
KINDS = (POST, REPLY, REPOST, LIKE, DELETE, PROFILE)
"""The kinds version 2 defines; any other kind is kept and shown as unsupported."""
SHOWN_KINDS = (POST, REPLY, REPOST)
"""Kinds that appear in timelines (likes, deletes and profiles only act on other data)."""

ID_BYTES = 32
MAX_SEALED_BYTES = 512
MAX_MENTIONS = 16
MAX_CRIT = 16
MAX_CRIT_NAME_BYTES = 64
MAX_PROFILE_NAME_BYTES = 64
MAX_PROFILE_BIO_BYTES = 512
MAX_LINKS = 8
MAX_LINK_BYTES = 256
MAX_PAY_KIND_BYTES = 32
MAX_PAY_ADDRESS_BYTES = 256

_REF_KEYS = frozenset({b"id", b"author"})
_PAY_KEYS = frozenset({b"kind", b"address"})


@dataclass(frozen=True)
class PostRef:
    """A post named by its id (SHA-256 of its signed bytes) and its author's key."""

    id: bytes
    author: bytes

    @property
    def hex_id(self) -> str:
        """Return the post id as 64 hex digits."""
        return self.id.hex()

    def validate(self) -> None:
        """Raise InvalidInput unless both fields are 32 bytes."""
        bencoding.binary(self.id, "post reference id", length=ID_BYTES)
        bencoding.binary(self.author, "post reference author", length=KEY_BYTES)

    def to_bencodable(self) -> dict[str, Any]:
        """Return ``{"id": ..., "author": ...}``."""
        return {"id": self.id, "author": self.author}

    @classmethod
    def from_bencodable(cls, value: Any, field: str) -> PostRef:
        """Return the reference in a decoded dict (unknown keys ignored)."""
        ref = bencoding.dictionary(value, field)
        check_keys(ref, _REF_KEYS, ANY_KEY, field)
        return cls(
            bencoding.binary(ref[b"id"], f"{field} id", length=ID_BYTES),
            bencoding.binary(ref[b"author"], f"{field} author", length=KEY_BYTES),
        )


@dataclass(frozen=True)
class PayAddress:
    """Where to send money to an author: free text with a kind (``lightning``, ``iban``, ...)."""

    kind: str
    address: str


@dataclass(frozen=True)
class ProfileInfo:
    """What a ``profile`` entry says about its author (the avatar is the entry's media)."""

    name: str = ""
    bio: str = ""
    links: tuple[str, ...] = ()
    pay: PayAddress | None = None

    def validate(self) -> None:
        """Raise InvalidInput or TooLarge unless every field is text within its limit."""
        _bounded_text(self.name, "profile name", MAX_PROFILE_NAME_BYTES)
        _bounded_text(self.bio, "profile bio", MAX_PROFILE_BIO_BYTES)
        if len(self.links) > MAX_LINKS:
            raise TooLarge(f"a profile has at most {MAX_LINKS} links, got {len(self.links)}")
        for link in self.links:
            _bounded_text(link, "profile link", MAX_LINK_BYTES)
        if self.pay is not None:
            _bounded_text(self.pay.kind, "payment kind", MAX_PAY_KIND_BYTES)
            _bounded_text(self.pay.address, "payment address", MAX_PAY_ADDRESS_BYTES)

    def to_bencodable(self) -> dict[str, Any]:
        """Return the ``profile`` dict (empty fields left out)."""
        value: dict[str, Any] = {}
        if self.name:
            value["name"] = self.name
        if self.bio:
            value["bio"] = self.bio
        if self.links:
            value["links"] = list(self.links)
        if self.pay is not None:
            value["pay"] = {"kind": self.pay.kind, "address": self.pay.address}
        return value

    @classmethod
    def from_bencodable(cls, value: Any) -> ProfileInfo:
        """Return the profile in a decoded ``profile`` dict (unknown keys ignored)."""
        profile = bencoding.dictionary(value, "profile")
        links = profile.get(b"links", [])
        if not isinstance(links, list):
            raise BencodeError("profile links must be a list")
        if len(links) > MAX_LINKS:
            raise TooLarge(f"a profile has at most {MAX_LINKS} links, got {len(links)}")
        pay = None
        if b"pay" in profile:
            raw = bencoding.dictionary(profile[b"pay"], "profile pay")
            check_keys(raw, _PAY_KEYS, ANY_KEY, "profile pay")
            pay = PayAddress(
                bencoding.text(raw[b"kind"], "payment kind", max_bytes=MAX_PAY_KIND_BYTES),
                bencoding.text(raw[b"address"], "payment address", max_bytes=MAX_PAY_ADDRESS_BYTES),
            )
        return cls(
            bencoding.text(
                profile.get(b"name", b""), "profile name", max_bytes=MAX_PROFILE_NAME_BYTES
            ),
            bencoding.text(
                profile.get(b"bio", b""), "profile bio", max_bytes=MAX_PROFILE_BIO_BYTES
            ),
            tuple(bencoding.text(link, "profile link", max_bytes=MAX_LINK_BYTES) for link in links),
            pay,
        )


def parse_mentions(value: Any) -> tuple[bytes, ...]:
    """Return the author keys of a decoded ``mentions`` list (at most 16, no repeats)."""
    if not isinstance(value, list):
        raise BencodeError("mentions must be a list")
    if len(value) > MAX_MENTIONS:
        raise TooLarge(f"a post mentions at most {MAX_MENTIONS} authors, got {len(value)}")
    keys = tuple(bencoding.binary(item, "mention", length=KEY_BYTES) for item in value)
    if len(set(keys)) != len(keys):
        raise InvalidInput("an author is mentioned twice")
    return keys


def parse_crit(value: Any) -> tuple[str, ...]:
    """Return the key names of a decoded ``crit`` list (at most 16 names of 64 bytes)."""
    if not isinstance(value, list):
        raise BencodeError("crit must be a list")
    if len(value) > MAX_CRIT:
        raise TooLarge(f"crit names at most {MAX_CRIT} keys, got {len(value)}")
    return tuple(bencoding.text(item, "crit key", max_bytes=MAX_CRIT_NAME_BYTES) for item in value)


def _bounded_text(value: str, field: str, limit: int) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{field} is not valid UTF-8") from exc
    if size > limit:
        raise TooLarge(f"{field} is {size} bytes, the limit is {limit}")

"""Posts and media references: canonical encoding, signing, verification (protocol.md §3, §4)."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KEY_BYTES, SIGNATURE_BYTES, KeyPair, verify_signature
from swarmfeed.core.paths import check_component, check_relative_path
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge, WrongAuthor

MAX_TEXT_BYTES = 8192
MAX_POST_BYTES = 65536
MAX_FILES = 64
MAX_MIME_BYTES = 255
MAX_CREATED = (1 << 34) - 1
"""Latest allowed ``created`` (Unix seconds, year 2514): keeps every value a date renders as."""
FORMAT_VERSION = 1
KINDS = ("post",)

_POST_KEYS = frozenset({b"version", b"author", b"seq", b"created", b"kind", b"text", b"sig"})
_OPTIONAL_POST_KEYS = frozenset({b"media"})
_MEDIA_KEYS = frozenset({b"ih", b"ih2", b"name", b"files"})
_FILE_KEYS = frozenset({b"path", b"size", b"mime"})
# "3:sig" + "64:" + 64 signature bytes: what the sig entry adds to the signed bytes.
_SIG_ENTRY_BYTES = 5 + 3 + SIGNATURE_BYTES


def check_keys(
    value: dict[bytes, Any], required: frozenset[bytes], optional: frozenset[bytes], field: str
) -> None:
    """Raise BencodeError if ``value`` lacks a required key or has an unknown one."""
    missing = required - value.keys()
    if missing:
        raise BencodeError(f"{field} lacks {', '.join(sorted(k.decode() for k in missing))}")
    unknown = value.keys() - required - optional
    if unknown:
        names = ", ".join(sorted(repr(k) for k in unknown))
        raise BencodeError(f"{field} has unknown keys {names}")


@dataclass(frozen=True)
class MediaFile:
    """One file of a media bundle: its path under the bundle's root, size and MIME type."""

    path: str
    size: int
    mime: str


@dataclass(frozen=True)
class MediaRef:
    """The signed description of a post's media torrent (protocol.md §4)."""

    infohash: bytes
    infohash_v2: bytes
    name: str
    files: tuple[MediaFile, ...]

    @property
    def total_size(self) -> int:
        """Return the sum of the file sizes."""
        return sum(f.size for f in self.files)

    def validate(self) -> None:
        """Raise InvalidInput (or UnsafePath/TooLarge) unless this is a valid media reference."""
        bencoding.binary(self.infohash, "media ih", length=20)
        bencoding.binary(self.infohash_v2, "media ih2", length=32)
        check_component(self.name, "media name")
        if not 1 <= len(self.files) <= MAX_FILES:
            raise InvalidInput(f"media has {len(self.files)} files, expected 1 to {MAX_FILES}")
        seen: set[str] = set()
        for entry in self.files:
            check_relative_path(entry.path, "media file path")
            if entry.path in seen:
                raise InvalidInput(f"media file path {entry.path!r} appears twice")
            seen.add(entry.path)
            bencoding.integer(entry.size, "media file size", minimum=0)
            _check_mime(entry.mime)

    def to_bencodable(self) -> dict[str, Any]:
        """Return the bencodable dict of protocol.md §4."""
        return {
            "ih": self.infohash,
            "ih2": self.infohash_v2,
            "name": self.name,
            "files": [{"path": f.path, "size": f.size, "mime": f.mime} for f in self.files],
        }

    @classmethod
    def from_bencodable(cls, value: Any) -> MediaRef:
        """Return the validated media reference in a decoded ``media`` dict."""
        media = bencoding.dictionary(value, "media")
        check_keys(media, _MEDIA_KEYS, frozenset(), "media")
        raw_files = media[b"files"]
        if not isinstance(raw_files, list):
            raise BencodeError("media files must be a list")
        if len(raw_files) > MAX_FILES:
            raise TooLarge(f"media has {len(raw_files)} files, the limit is {MAX_FILES}")
        files: list[MediaFile] = []
        for raw in raw_files:
            entry = bencoding.dictionary(raw, "media file")
            check_keys(entry, _FILE_KEYS, frozenset(), "media file")
            files.append(
                MediaFile(
                    bencoding.text(entry[b"path"], "media file path"),
                    bencoding.integer(entry[b"size"], "media file size", minimum=0),
                    bencoding.text(entry[b"mime"], "media file mime", max_bytes=MAX_MIME_BYTES),
                )
            )
        ref = cls(
            bencoding.binary(media[b"ih"], "media ih", length=20),
            bencoding.binary(media[b"ih2"], "media ih2", length=32),
            bencoding.text(media[b"name"], "media name"),
            tuple(files),
        )
        ref.validate()
        return ref


def _check_mime(mime: str) -> None:
    """Raise InvalidInput unless ``mime`` is non-empty text of at most 255 bytes, no controls."""
    if not isinstance(mime, str) or not mime:
        raise InvalidInput("media file mime must be non-empty text")
    try:
        size = len(mime.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInput("media file mime is not valid UTF-8") from exc
    if size > MAX_MIME_BYTES:
        raise TooLarge(f"media file mime is {size} bytes, the limit is {MAX_MIME_BYTES}")
    # A MIME type ends up in a Content-Type header: refuse CR, LF and other controls.
    if any(unicodedata.category(c) == "Cc" for c in mime):
        raise InvalidInput("media file mime contains a control character")


@dataclass(frozen=True)
class Post:
    """An unsigned post (protocol.md §3)."""

    author: bytes
    seq: int
    created: int
    text: str
    media: MediaRef | None = None
    kind: str = "post"
    version: int = FORMAT_VERSION

    def _unsigned(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "version": self.version,
            "author": self.author,
            "seq": self.seq,
            "created": self.created,
            "kind": self.kind,
            "text": self.text,
        }
        if self.media is not None:
            value["media"] = self.media.to_bencodable()
        return value

    def signable_bytes(self) -> bytes:
        """Return the signed bytes: the canonical bencoding without ``sig`` (protocol.md §3)."""
        return bencoding.encode(self._unsigned())

    def validate(self) -> None:
        """Raise InvalidInput or TooLarge unless this post may be signed and published."""
        if self.version != FORMAT_VERSION:
            raise InvalidInput(f"post version {self.version!r} is not {FORMAT_VERSION}")
        if self.kind not in KINDS:
            raise InvalidInput(f"post kind {self.kind!r} is unknown")
        bencoding.binary(self.author, "post author", length=KEY_BYTES)
        bencoding.integer(self.seq, "post seq", minimum=0)
        bencoding.integer(self.created, "post created", minimum=0, maximum=MAX_CREATED)
        if not isinstance(self.text, str):
            raise InvalidInput("post text must be text")
        try:
            size = len(self.text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise InvalidInput("post text is not valid UTF-8") from exc
        if size > MAX_TEXT_BYTES:
            raise TooLarge(f"post text is {size} bytes, the limit is {MAX_TEXT_BYTES}")
        if self.media is not None:
            self.media.validate()
        encoded = len(self.signable_bytes()) + _SIG_ENTRY_BYTES
        if encoded > MAX_POST_BYTES:
            raise TooLarge(f"encoded post is {encoded} bytes, the limit is {MAX_POST_BYTES}")


@dataclass(frozen=True)
class SignedPost:
    """A post with its author's ed25519 signature."""

    post: Post
    signature: bytes

    @property
    def id(self) -> str:
        """Return the post id: SHA-256 of the signed bytes in hex (protocol.md §3)."""
        return hashlib.sha256(self.post.signable_bytes()).hexdigest()

    def to_bencodable(self) -> dict[str, Any]:
        """Return the post dict with ``sig``."""
        value = self.post._unsigned()
        value["sig"] = self.signature
        return value

    def encode(self) -> bytes:
        """Return the canonical bencoding of the signed post."""
        return bencoding.encode(self.to_bencodable())


def sign_post(post: Post, keys: KeyPair) -> SignedPost:
    """Validate ``post`` and sign it with ``keys``, which must be the post's author."""
    post.validate()
    if keys.public_key != post.author:
        raise WrongAuthor("the signing key is not the post's author")
    return SignedPost(post, keys.sign(post.signable_bytes()))


def decode_post(data: bytes | dict[bytes, Any]) -> SignedPost:
    """Decode a post (bytes, or a dict decoded from a page) strictly; signatures are not checked."""
    if isinstance(data, dict):
        value = data
        # Decoded input is canonical, so re-encoding gives back the received size.
        size = len(bencoding.encode(value))
        if size > MAX_POST_BYTES:
            raise TooLarge(f"encoded post is {size} bytes, the limit is {MAX_POST_BYTES}")
    else:
        value = bencoding.dictionary(bencoding.decode(data, max_size=MAX_POST_BYTES), "post")
    check_keys(value, _POST_KEYS, _OPTIONAL_POST_KEYS, "post")
    version = bencoding.integer(value[b"version"], "post version")
    if version != FORMAT_VERSION:
        raise InvalidInput(f"post version {version} is not supported (expected {FORMAT_VERSION})")
    kind = bencoding.text(value[b"kind"], "post kind", max_bytes=64)
    if kind not in KINDS:
        raise InvalidInput(f"post kind {kind!r} is unknown")
    media = value.get(b"media")
    return SignedPost(
        Post(
            author=bencoding.binary(value[b"author"], "post author", length=KEY_BYTES),
            seq=bencoding.integer(value[b"seq"], "post seq", minimum=0),
            created=bencoding.integer(
                value[b"created"], "post created", minimum=0, maximum=MAX_CREATED
            ),
            text=bencoding.text(value[b"text"], "post text", max_bytes=MAX_TEXT_BYTES),
            media=None if media is None else MediaRef.from_bencodable(media),
            kind=kind,
            version=version,
        ),
        bencoding.binary(value[b"sig"], "post sig", length=SIGNATURE_BYTES),
    )


def verify_post(signed: SignedPost, author: bytes | None = None) -> None:
    """Raise WrongAuthor if ``author`` is given and differs, InvalidSignature if the sig fails."""
    if author is not None and signed.post.author != author:
        raise WrongAuthor(
            f"wrong author: post by {signed.post.author.hex()[:16]}, expected {author.hex()[:16]}"
        )
    verify_signature(signed.post.author, signed.post.signable_bytes(), signed.signature)

"""Media references: the signed description of a post's media torrent (protocol.md §4)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.paths import check_component, check_relative_path
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge

MAX_FILES = 64
MAX_MIME_BYTES = 255

_MEDIA_KEYS = frozenset({b"ih", b"ih2", b"name", b"files"})
_FILE_KEYS = frozenset({b"path", b"size", b"mime"})


class _AnyKey(frozenset[bytes]):
    """Marks that any further key is allowed (and ignored)."""


ANY_KEY = _AnyKey()
"""``optional`` value of check_keys that allows every other key (version-2 readers)."""


def check_keys(
    value: dict[bytes, Any],
    required: frozenset[bytes],
    optional: frozenset[bytes] | None,
    field: str,
) -> None:
    """Raise BencodeError if ``value`` lacks a required key or has an unknown one.

    ``optional`` None means no other key; ``ANY_KEY`` allows every other key.
    """
    missing = required - value.keys()
    if missing:
        raise BencodeError(f"{field} lacks {', '.join(sorted(k.decode() for k in missing))}")
    if isinstance(optional, _AnyKey):
        return
    unknown = value.keys() - required - (optional or frozenset())
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
    def from_bencodable(cls, value: Any, *, strict: bool = True) -> MediaRef:
        """Return the validated media reference in a decoded ``media`` dict.

        ``strict`` (version-1 posts) refuses unknown keys; a version-2 reader ignores them
        (they stay in the signed bytes, protocol.md §3).
        """
        media = bencoding.dictionary(value, "media")
        check_keys(media, _MEDIA_KEYS, None if strict else ANY_KEY, "media")
        raw_files = media[b"files"]
        if not isinstance(raw_files, list):
            raise BencodeError("media files must be a list")
        if len(raw_files) > MAX_FILES:
            raise TooLarge(f"media has {len(raw_files)} files, the limit is {MAX_FILES}")
        files: list[MediaFile] = []
        for raw in raw_files:
            entry = bencoding.dictionary(raw, "media file")
            check_keys(entry, _FILE_KEYS, None if strict else ANY_KEY, "media file")
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

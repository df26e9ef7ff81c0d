"""Media bundles: the metadata check against a received info dict (protocol.md §4)."""

from __future__ import annotations

import hashlib
import mimetypes
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.paths import MAX_COMPONENTS, check_component, check_components
from swarmfeed.core.posts import MediaRef
from swarmfeed.errors import BencodeError, InvalidInput, UnsafePath

# Larger than any info dict of a post's media (at most 64 files); libtorrent's own default
# max_metadata_size is in the same range.
MAX_INFO_BYTES = 16 * 1024 * 1024
DEFAULT_MIME = "application/octet-stream"

# The built-in table only, so a guess does not depend on the machine's /etc/mime.types.
_MIME_TYPES = mimetypes.MimeTypes()
_ENCODING_MIME = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}


def check_media_metadata(info_section: bytes, ref: MediaRef) -> None:
    """Raise unless the raw bencoded info dict is the media torrent ``ref`` describes.

    protocol.md §4: hashes, ``name``, the v1 file list without BEP 47 pad files (order, path,
    size) and every path component. Raises UnsafePath for unsafe paths, InvalidInput otherwise.
    """
    info = bencoding.dictionary(
        bencoding.decode(info_section, max_size=MAX_INFO_BYTES), "info dict"
    )
    name = check_component(bencoding.text(info.get(b"name"), "torrent name"), "torrent name")
    files = _v1_files(info)
    if b"file tree" in info:
        _check_file_tree(info[b"file tree"], 0)
    # SHA-1 is the BEP 3 infohash, not a security primitive of ours; BEP 52 adds SHA-256.
    if hashlib.sha1(info_section).digest() != ref.infohash:  # noqa: S324
        raise InvalidInput("info dict does not hash to the media's v1 infohash")
    if b"meta version" in info and hashlib.sha256(info_section).digest() != ref.infohash_v2:
        raise InvalidInput("info dict does not hash to the media's v2 infohash")
    if name != ref.name:
        raise InvalidInput(f"torrent name {name!r} is not the media name {ref.name!r}")
    expected = [(f.path, f.size) for f in ref.files]
    if files != expected:
        raise InvalidInput(
            f"torrent files {_summary(files)} are not the post's media files {_summary(expected)}"
        )


def _v1_files(info: dict[bytes, Any]) -> list[tuple[str, int]]:
    """Return the (path, size) of each non-pad file in the v1 ``files`` list (BEP 3, BEP 47)."""
    if b"files" not in info:
        raise InvalidInput("media torrent has no 'files' list (its root folder must be 'name')")
    raw_files = info[b"files"]
    if not isinstance(raw_files, list):
        raise BencodeError("info dict 'files' must be a list")
    files: list[tuple[str, int]] = []
    for raw in raw_files:
        entry = bencoding.dictionary(raw, "torrent file")
        raw_path = entry.get(b"path")
        if not isinstance(raw_path, list):
            raise BencodeError("torrent file path must be a list")
        parts = check_components(
            [bencoding.text(part, "torrent file path") for part in raw_path], "torrent file path"
        )
        size = bencoding.integer(entry.get(b"length"), "torrent file length", minimum=0)
        attr = entry.get(b"attr", b"")
        if isinstance(attr, bytes) and b"p" in attr:
            continue  # BEP 47 pad file: not part of the content
        files.append(("/".join(parts), size))
    return files


def _check_file_tree(tree: Any, depth: int) -> None:
    """Raise UnsafePath if a path element of a BEP 52 ``file tree`` is unsafe or too deep."""
    node = bencoding.dictionary(tree, "file tree")
    for key, child in node.items():
        if key == b"":
            continue  # the file's own entry: {"length": ..., "pieces root": ...}
        if depth >= MAX_COMPONENTS:
            raise UnsafePath(f"file tree: path has more than {MAX_COMPONENTS} components")
        check_component(bencoding.text(key, "file tree path"), "file tree path")
        _check_file_tree(child, depth + 1)


def _summary(files: list[tuple[str, int]]) -> str:
    shown = ", ".join(f"{path} ({size} B)" for path, size in files[:4])
    return f"[{shown}{', ...' if len(files) > 4 else ''}]"


def guess_mime(filename: str) -> str:
    """Return the MIME type of ``filename`` by its extension, or application/octet-stream."""
    mime, encoding = _MIME_TYPES.guess_type(filename, strict=False)
    if encoding is not None:
        # "a.tar.gz" is a gzip stream, whatever is inside it.
        return _ENCODING_MIME.get(encoding, DEFAULT_MIME)
    return mime or DEFAULT_MIME

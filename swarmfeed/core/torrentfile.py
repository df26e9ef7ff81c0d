""".torrent files for export: BEP 52 piece layers from file bytes, and the file around an info dict.

A client that receives a torrent by magnet gets the info dict (BEP 9) and, for a v2 torrent, the
piece hashes piece by piece from its peers. A .torrent file of a v2 or hybrid torrent carries
them up front in ``piece layers`` (BEP 52): for every file larger than one piece, the layer of
the file's merkle tree whose nodes each cover one piece. Computed here from the file bytes and
checked against the ``pieces root`` the info dict names, so an export is never wrong.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.paths import MAX_COMPONENTS
from swarmfeed.errors import InvalidInput

BLOCK = 16 * 1024
"""BEP 52: the merkle tree's leaves are SHA-256 hashes of 16 KiB blocks."""
HASH_BYTES = 32
ZERO = bytes(HASH_BYTES)
"""BEP 52: leaves beyond the end of a file are zero."""
MAX_FILES = 10_000
"""At most this many files are read from a v2 file tree (swarmfeed's own media have 64)."""
TORRENT_MIME = "application/x-bittorrent"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class V2File:
    """One file of a v2 file tree: its path inside the torrent, size and merkle root."""

    path: str
    """The "/"-joined path of the file-tree entry (for a multi-file torrent, below ``name``)."""
    length: int
    pieces_root: bytes


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _next_power_of_two(count: int) -> int:
    return 1 << max(count - 1, 0).bit_length()


def merkle_root(hashes: list[bytes], width: int, pad: bytes = ZERO) -> bytes:
    """Return the root of a binary SHA-256 tree over ``hashes`` padded with ``pad`` to ``width``.

    ``width`` is a power of two no smaller than ``len(hashes)``.
    """
    if width < len(hashes) or width & (width - 1):
        raise InvalidInput(f"a merkle tree of {len(hashes)} leaves cannot be {width} wide")
    layer = hashes + [pad] * (width - len(hashes))
    while len(layer) > 1:
        layer = [_sha256(layer[i] + layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def pad_hash(piece_length: int) -> bytes:
    """Return the root of one piece of zero leaves (the piece layer's padding, BEP 52)."""
    blocks = piece_length // BLOCK
    return merkle_root([ZERO] * blocks, blocks)


class PieceLayerHasher:
    """Computes one file's ``pieces root`` and piece layer from its bytes, fed in order."""

    def __init__(self, length: int, piece_length: int) -> None:
        if piece_length < BLOCK or piece_length & (piece_length - 1):
            raise InvalidInput(f"piece length {piece_length} is not a power of two of 16 KiB+")
        if length <= 0:
            raise InvalidInput("an empty file has no merkle tree")
        self.length = length
        self.piece_length = piece_length
        self._per_piece = piece_length // BLOCK
        self._buffer = bytearray()
        self._leaves: list[bytes] = []
        self._layer: list[bytes] = []
        self._seen = 0

    def update(self, data: bytes) -> None:
        """Feed the next bytes of the file."""
        self._seen += len(data)
        if self._seen > self.length:
            raise InvalidInput(f"the file is longer than {self.length} bytes")
        self._buffer += data
        while len(self._buffer) >= BLOCK:
            self._leaf(bytes(self._buffer[:BLOCK]))
            del self._buffer[:BLOCK]

    def _leaf(self, block: bytes) -> None:
        self._leaves.append(_sha256(block))
        if len(self._leaves) == self._per_piece and self.length > self.piece_length:
            self._layer.append(merkle_root(self._leaves, self._per_piece))
            self._leaves = []

    def finish(self) -> tuple[bytes, bytes]:
        """Return ``(pieces root, piece layer)``; the layer is empty for a one-piece file."""
        if self._seen != self.length:
            raise InvalidInput(f"the file has {self._seen} of its {self.length} bytes")
        if self._buffer:
            self._leaf(bytes(self._buffer))
            self._buffer.clear()
        if self.length <= self.piece_length:
            return merkle_root(self._leaves, _next_power_of_two(len(self._leaves))), b""
        if self._leaves:
            self._layer.append(merkle_root(self._leaves, self._per_piece))
            self._leaves = []
        width = _next_power_of_two(len(self._layer))
        root = merkle_root(self._layer, width, pad_hash(self.piece_length))
        return root, b"".join(self._layer)


def piece_length(info: dict[bytes, Any]) -> int:
    """Return the info dict's ``piece length``."""
    return bencoding.integer(info.get(b"piece length"), "piece length", minimum=BLOCK)


def v2_files(info: dict[bytes, Any]) -> list[V2File]:
    """Return the non-empty files of a v2 ``file tree`` (BEP 52); [] for a v1-only info dict."""
    tree = info.get(b"file tree")
    if tree is None:
        return []
    found: list[V2File] = []
    _walk(bencoding.dictionary(tree, "file tree"), [], found)
    return found


def _walk(node: dict[bytes, Any], parts: list[str], found: list[V2File]) -> None:
    if len(parts) > MAX_COMPONENTS:
        raise InvalidInput(f"file tree deeper than {MAX_COMPONENTS} levels")
    for key, child in node.items():
        child = bencoding.dictionary(child, "file tree entry")
        if key == b"":
            length = bencoding.integer(child.get(b"length"), "file length", minimum=0)
            if length == 0:
                continue
            root = child.get(b"pieces root")
            if not isinstance(root, bytes) or len(root) != HASH_BYTES:
                raise InvalidInput("a file of a v2 torrent has no 32-byte pieces root")
            if len(found) >= MAX_FILES:
                raise InvalidInput(f"file tree with more than {MAX_FILES} files")
            found.append(V2File("/".join(parts), length, root))
        else:
            _walk(child, [*parts, bencoding.text(key, "file name", max_bytes=255)], found)


def torrent_bytes(info_section: bytes, piece_layers: dict[bytes, bytes]) -> bytes:
    """Return a .torrent file: the info dict byte for byte (its hashes stay) and piece layers."""
    if not info_section.startswith(b"d") or not info_section.endswith(b"e"):
        raise InvalidInput("an info dict is a bencoded dictionary")
    torrent = b"d4:info" + info_section
    if piece_layers:
        torrent += b"12:piece layers" + bencoding.encode(piece_layers)
    return torrent + b"e"


def export_filename(name: str, infohash: str) -> str:
    """Return a file name for a torrent's export: ASCII letters, digits, ``._-`` only.

    The name comes from a peer's info dict; whatever it holds, the result is one plain file
    name that no shell, browser or file system reads as anything else.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    safe = _UNSAFE.sub("_", ascii_name).strip("._-")[:80].rstrip("._-")
    return f"{safe or 'torrent'}-{infohash[:8]}.torrent"

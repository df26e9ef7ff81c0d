"""Torrent creation (engine/creator.py): hybrid v1+v2 by default (BEP 52), v1-only on request."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from enginekit import random_bytes, write_tree

from swarmfeed.core import bencoding
from swarmfeed.engine.creator import create_torrent
from swarmfeed.errors import InvalidInput

BIG = 2 * 1024 * 1024 + 1234  # ~2 MiB, not a multiple of any piece size


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "post-0",
        {"clip.bin": random_bytes(BIG), "notes/readme.txt": b"hello swarm\n"},
    )


def decode_torrent(torrent: bytes) -> tuple[dict[bytes, object], dict[bytes, object]]:
    top = bencoding.dictionary(bencoding.decode(torrent), "torrent")
    return top, bencoding.dictionary(top[b"info"], "info")


def test_hybrid_torrent_of_a_folder_reports_progress(folder: Path) -> None:
    calls: list[tuple[int, int]] = []
    created = create_torrent(folder, lambda done, total: calls.append((done, total)))

    # Progress: once per piece, counting up to the total.
    pieces = -(-BIG // created.piece_length) + 1  # hybrid: every file starts a new piece
    assert calls == [(i, pieces) for i in range(1, pieces + 1)]

    assert created.name == "post-0"
    assert sorted(created.files) == [("clip.bin", BIG), ("notes/readme.txt", 12)]

    # Both infohashes, each the hash of the exact info section (BEP 3, BEP 52).
    assert created.infohash_v2 is not None
    assert len(created.infohash) == 20 and len(created.infohash_v2) == 32
    assert hashlib.sha1(created.info_section).digest() == created.infohash
    assert hashlib.sha256(created.info_section).digest() == created.infohash_v2

    top, info = decode_torrent(created.torrent)
    assert bencoding.encode(info) == created.info_section
    assert info[b"meta version"] == 2 and b"file tree" in info  # v2 part
    assert b"pieces" in info and b"files" in info  # v1 part
    assert b"piece layers" in top
    assert info[b"piece length"] == created.piece_length
    # Pad files (BEP 47) keep v1 pieces aligned with v2 files but are not reported as content.
    v1_paths = [b"/".join(f[b"path"]) for f in info[b"files"]]  # type: ignore[attr-defined]
    assert any(path.startswith(b".pad/") for path in v1_paths)


def test_v1_only_torrent(folder: Path) -> None:
    created = create_torrent(folder, v1_only=True)

    assert created.infohash_v2 is None
    assert hashlib.sha1(created.info_section).digest() == created.infohash
    assert sorted(created.files) == [("clip.bin", BIG), ("notes/readme.txt", 12)]
    top, info = decode_torrent(created.torrent)
    assert b"meta version" not in info and b"file tree" not in info
    assert b"piece layers" not in top
    assert len(info[b"pieces"]) % 20 == 0  # type: ignore[arg-type]


def test_single_file_v1_torrent_is_a_page_shape(tmp_path: Path) -> None:
    page = write_tree(tmp_path / "p", {"page.bencode": b"d7:versioni1ee"}) / "page.bencode"
    created = create_torrent(page, v1_only=True)
    assert created.name == "page.bencode"
    assert created.files == (("page.bencode", 14),)
    _, info = decode_torrent(created.torrent)
    assert info[b"length"] == 14 and b"files" not in info


def test_creation_refuses_missing_or_empty_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        create_torrent(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="no files"):
        create_torrent(tmp_path / "empty")

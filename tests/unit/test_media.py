"""The media metadata check against received info dicts (protocol.md §4) and MIME guessing."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import libtorrent as lt
import pytest

from swarmfeed.core import bencoding
from swarmfeed.core.media import check_media_metadata, guess_mime
from swarmfeed.core.posts import MediaFile, MediaRef
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge, UnsafePath


def make_torrent(root: Path, files: dict[str, bytes]) -> tuple[bytes, MediaRef]:
    """Create a real hybrid torrent of ``files`` under ``root``; return info bytes and its ref."""
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    ct = lt.create_torrent(lt.list_files(str(root)))
    lt.set_piece_hashes(ct, str(root.parent))
    info = lt.torrent_info(lt.bencode(ct.generate()))
    section = bytes(info.info_section())
    # libtorrent orders a hybrid torrent's files by path (BEP 52 file tree order).
    media_files = tuple(MediaFile(p, len(files[p]), guess_mime(p)) for p in sorted(files))
    hashes = info.info_hashes()
    ref = MediaRef(hashes.v1.to_bytes(), hashes.v2.to_bytes(), info.name(), media_files)
    return section, ref


@pytest.fixture
def real(tmp_path: Path) -> tuple[bytes, MediaRef]:
    files = {"a.txt": b"hello", "sub/b.bin": bytes(40000), "z.jpg": b"\xff\xd8" * 10}
    return make_torrent(tmp_path / "post-0", files)


def info_bytes(info: dict[str, Any]) -> tuple[bytes, MediaRef]:
    """Bencode a hand-built v1 info dict; return it and a ref whose hashes match it."""
    section = bencoding.encode(info)
    files = tuple(
        MediaFile(
            "/".join(p if isinstance(p, str) else p.decode() for p in f["path"]), f["length"], "x/y"
        )
        for f in info.get("files", [])
        if b"p" not in f.get("attr", b"")
    )
    ref = MediaRef(
        hashlib.sha1(section).digest(),
        hashlib.sha256(section).digest(),
        str(info["name"]),
        files,
    )
    return section, ref


def v1_info(paths: list[list[str]], name: str = "post-0") -> dict[str, Any]:
    return {
        "name": name,
        "piece length": 16384,
        "pieces": b"\x00" * 20,
        "files": [{"length": 5, "path": p} for p in paths],
    }


def test_real_hybrid_torrent_passes(real: tuple[bytes, MediaRef]) -> None:
    section, ref = real
    assert b"meta version" in bencoding.decode(section)
    assert [f.path for f in ref.files] == ["a.txt", "sub/b.bin", "z.jpg"]
    check_media_metadata(section, ref)


def test_real_torrent_has_pad_files_that_are_ignored(real: tuple[bytes, MediaRef]) -> None:
    section, ref = real
    info = bencoding.decode(section)
    assert any(b"p" in f.get(b"attr", b"") for f in info[b"files"])
    check_media_metadata(section, ref)


@pytest.mark.parametrize(
    "change",
    [
        {"infohash": b"\x00" * 20},
        {"infohash_v2": b"\x00" * 32},
        {"name": "post-1"},
    ],
)
def test_hash_and_name_mismatches(real: tuple[bytes, MediaRef], change: dict[str, Any]) -> None:
    section, ref = real
    with pytest.raises(InvalidInput):
        check_media_metadata(section, dataclasses.replace(ref, **change))


@pytest.mark.parametrize(
    "files",
    [
        lambda fs: fs[:-1],
        lambda fs: (*fs, MediaFile("extra", 1, "x/y")),
        lambda fs: tuple(reversed(fs)),
        lambda fs: (MediaFile(fs[0].path, fs[0].size + 1, fs[0].mime), *fs[1:]),
        lambda fs: (MediaFile("A.txt", fs[0].size, fs[0].mime), *fs[1:]),
    ],
)
def test_file_list_mismatches(real: tuple[bytes, MediaRef], files: Any) -> None:
    section, ref = real
    with pytest.raises(InvalidInput, match="files"):
        check_media_metadata(section, dataclasses.replace(ref, files=files(ref.files)))


def test_mime_is_not_part_of_the_check(real: tuple[bytes, MediaRef]) -> None:
    section, ref = real
    other = tuple(dataclasses.replace(f, mime="application/x-other") for f in ref.files)
    check_media_metadata(section, dataclasses.replace(ref, files=other))


def test_v1_only_torrent_is_checked_without_ih2() -> None:
    section, ref = info_bytes(v1_info([["a.txt"], ["d", "b.txt"]]))
    check_media_metadata(section, dataclasses.replace(ref, infohash_v2=b"\x05" * 32))


@pytest.mark.parametrize(
    "path",
    [
        ["..", "..", "evil.sh"],
        ["..", "x"],
        ["a", "..", "..", "x"],
        ["."],
        [""],
        [],
        ["/etc", "passwd"],
        ["a/../../b"],
        ["..\\..\\x"],
        ["C:", "x"],
        ["a\x00b"],
        ["a\nb"],
        ["x" * 256],
        ["d"] * 9,
    ],
)
def test_escaping_v1_paths_are_unsafe(path: list[str]) -> None:
    info = v1_info([path])
    section = bencoding.encode(info)
    ref = MediaRef(
        hashlib.sha1(section).digest(),
        b"\x05" * 32,
        "post-0",
        (MediaFile("evil.sh", 5, "text/x-sh"),),
    )
    with pytest.raises(UnsafePath, match="path"):
        check_media_metadata(section, ref)


def test_escaping_pad_file_paths_are_unsafe_too() -> None:
    info = v1_info([["a"]])
    info["files"].append({"attr": b"p", "length": 3, "path": ["..", "pad"]})
    section, ref = info_bytes(info)
    with pytest.raises(UnsafePath):
        check_media_metadata(section, ref)


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "a\\b", "C:", "x\x00"])
def test_unsafe_names(name: str) -> None:
    section = bencoding.encode(v1_info([["a"]], name=name))
    ref = MediaRef(
        hashlib.sha1(section).digest(),
        b"\x05" * 32,
        "post-0",
        (MediaFile("a", 5, "x/y"),),
    )
    with pytest.raises(UnsafePath):
        check_media_metadata(section, ref)


@pytest.mark.parametrize(
    "tree",
    [
        {"..": {"x": {"": {"length": 5}}}},
        {"a/b": {"": {"length": 5}}},
        {"a": {"..": {"": {"length": 5}}}},
        {"a\x00": {"": {"length": 5}}},
        {"d": {"d": {"d": {"d": {"d": {"d": {"d": {"d": {"d": {"": {"length": 5}}}}}}}}}}},
    ],
)
def test_unsafe_v2_file_tree(tree: dict[str, Any]) -> None:
    info = v1_info([["a"]])
    info["file tree"] = tree
    info["meta version"] = 2
    section, ref = info_bytes(info)
    with pytest.raises(UnsafePath):
        check_media_metadata(section, ref)


def test_v2_file_tree_at_the_depth_limit() -> None:
    tree: dict[str, Any] = {"": {"length": 5}}
    for _ in range(8):
        tree = {"d": tree}
    info = v1_info([["d"] * 8])
    info["file tree"] = tree
    info["meta version"] = 2
    section, ref = info_bytes(info)
    check_media_metadata(section, ref)


@pytest.mark.parametrize(
    "info",
    [
        {"name": "post-0", "length": 5, "piece length": 16384, "pieces": b"\x00" * 20},
        {"name": "post-0", "files": b"x"},
        {"name": "post-0", "files": [b"x"]},
        {"name": "post-0", "files": [{"length": 5, "path": b"a"}]},
        {"name": "post-0", "files": [{"length": -5, "path": ["a"]}]},
        {"name": "post-0", "files": [{"path": ["a"]}]},
        {"name": "post-0", "files": [{"length": 5, "path": [1]}]},
        {"name": b"\xff", "files": [{"length": 5, "path": ["a"]}]},
        {"files": [{"length": 5, "path": ["a"]}]},
    ],
)
def test_malformed_info_dicts(info: dict[str, Any]) -> None:
    section = bencoding.encode(info)
    ref = MediaRef(
        hashlib.sha1(section).digest(),
        hashlib.sha256(section).digest(),
        "post-0",
        (MediaFile("a", 5, "x/y"),),
    )
    with pytest.raises(InvalidInput):
        check_media_metadata(section, ref)


@pytest.mark.parametrize(
    "section", [b"", b"le", b"d4:name6:post-0e\x00", b"d4:name1:a4:name1:be", b"i1e"]
)
def test_non_canonical_or_non_dict_info(section: bytes) -> None:
    ref = MediaRef(b"\x00" * 20, b"\x00" * 32, "a", (MediaFile("a", 1, "x/y"),))
    with pytest.raises(BencodeError):
        check_media_metadata(section, ref)


def test_oversized_info_dict() -> None:
    ref = MediaRef(b"\x00" * 20, b"\x00" * 32, "a", (MediaFile("a", 1, "x/y"),))
    with pytest.raises(TooLarge):
        check_media_metadata(b"0:" + b"\x00" * (16 * 1024 * 1024), ref)


@pytest.mark.parametrize(
    ("filename", "mime"),
    [
        ("cat.jpg", "image/jpeg"),
        ("CAT.JPG", "image/jpeg"),
        ("clip.mp4", "video/mp4"),
        ("notes.txt", "text/plain"),
        ("page.html", "text/html"),
        ("doc.pdf", "application/pdf"),
        ("song.mp3", "audio/mpeg"),
        ("x.png", "image/png"),
        ("archive.tar.gz", "application/gzip"),
        ("data.unknownext", "application/octet-stream"),
        ("noextension", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_guess_mime(filename: str, mime: str) -> None:
    assert guess_mime(filename) == mime

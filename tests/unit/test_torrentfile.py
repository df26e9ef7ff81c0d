""".torrent export helpers: BEP 52 piece layers and roots, the file around an info dict, names."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.core.torrentfile import (
    BLOCK,
    ZERO,
    PieceLayerHasher,
    V2File,
    export_filename,
    merkle_root,
    pad_hash,
    torrent_bytes,
    v2_files,
)
from swarmfeed.errors import InvalidInput


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def layer_of(data: bytes, piece_length: int, chunk: int = 7000) -> tuple[bytes, bytes]:
    hasher = PieceLayerHasher(len(data), piece_length)
    for start in range(0, len(data), chunk):
        hasher.update(data[start : start + chunk])
    return hasher.finish()


def test_one_block_file_root_is_the_block_hash() -> None:
    assert layer_of(b"hello", BLOCK) == (h(b"hello"), b"")


def test_one_piece_file_pads_its_leaves_to_a_power_of_two() -> None:
    data = bytes(BLOCK) + b"x" * BLOCK + b"tail"  # 3 blocks in a 4-block piece
    leaves = [h(bytes(BLOCK)), h(b"x" * BLOCK), h(b"tail")]
    root = h(h(leaves[0] + leaves[1]) + h(leaves[2] + ZERO))
    assert layer_of(data, 4 * BLOCK) == (root, b"")


def test_piece_layer_of_a_file_over_one_piece() -> None:
    blocks = [bytes([i]) * BLOCK for i in range(4)] + [b"end"]  # 5 blocks, 2 a piece
    leaves = [h(block) for block in blocks]
    layer = [h(leaves[0] + leaves[1]), h(leaves[2] + leaves[3]), h(leaves[4] + ZERO)]
    pad = h(ZERO + ZERO)
    root = h(h(layer[0] + layer[1]) + h(layer[2] + pad))
    assert layer_of(b"".join(blocks), 2 * BLOCK) == (root, b"".join(layer))


def test_pad_hash_is_a_piece_of_zero_leaves() -> None:
    assert pad_hash(BLOCK) == ZERO
    assert pad_hash(4 * BLOCK) == h(h(ZERO + ZERO) + h(ZERO + ZERO))


@settings(max_examples=40, deadline=None)
@given(
    st.binary(min_size=1, max_size=9 * BLOCK + 5),
    st.sampled_from([BLOCK, 2 * BLOCK, 4 * BLOCK]),
    st.integers(1, 3 * BLOCK),
)
def test_chunking_does_not_matter(data: bytes, piece_length: int, chunk: int) -> None:
    assert layer_of(data, piece_length, chunk) == layer_of(data, piece_length, len(data))
    root, layer = layer_of(data, piece_length)
    pieces = -(-len(data) // piece_length)
    assert len(layer) == (32 * pieces if len(data) > piece_length else 0)
    if layer:
        hashes = [layer[i : i + 32] for i in range(0, len(layer), 32)]
        width = 1 << (pieces - 1).bit_length()
        assert merkle_root(hashes, width, pad_hash(piece_length)) == root


@pytest.mark.parametrize(("length", "piece"), [(0, BLOCK), (10, 1000), (10, 3 * BLOCK)])
def test_hasher_refuses_bad_shapes(length: int, piece: int) -> None:
    with pytest.raises(InvalidInput):
        PieceLayerHasher(length, piece)


def test_hasher_refuses_a_file_of_another_length() -> None:
    short = PieceLayerHasher(10, BLOCK)
    short.update(b"12345")
    with pytest.raises(InvalidInput, match="5 of its 10 bytes"):
        short.finish()
    long = PieceLayerHasher(3, BLOCK)
    with pytest.raises(InvalidInput, match="longer than 3 bytes"):
        long.update(b"1234")


def test_merkle_root_refuses_a_width_that_is_not_a_power_of_two() -> None:
    with pytest.raises(InvalidInput):
        merkle_root([ZERO] * 3, 3)
    with pytest.raises(InvalidInput):
        merkle_root([ZERO] * 3, 2)


def test_v2_files_walk_the_file_tree() -> None:
    info = {
        b"file tree": {
            b"a.bin": {b"": {b"length": 5, b"pieces root": b"r" * 32}},
            b"dir": {b"b.txt": {b"": {b"length": 7, b"pieces root": b"s" * 32}}},
            b"empty": {b"": {b"length": 0}},
        }
    }
    assert v2_files(info) == [V2File("a.bin", 5, b"r" * 32), V2File("dir/b.txt", 7, b"s" * 32)]
    assert v2_files({b"pieces": b""}) == []


@pytest.mark.parametrize(
    "tree",
    [
        b"not a dict",
        {b"a": {b"": {b"length": 5}}},
        {b"a": {b"": {b"length": 5, b"pieces root": b"short"}}},
        {b"a": {b"": {b"length": -1, b"pieces root": b"r" * 32}}},
        {b"a": b"leaf"},
        {b"\xff": {b"": {b"length": 1, b"pieces root": b"r" * 32}}},
    ],
)
def test_v2_files_refuse_malformed_trees(tree: object) -> None:
    with pytest.raises(InvalidInput):
        v2_files({b"file tree": tree})


def test_v2_files_refuse_deep_trees() -> None:
    node: dict[bytes, object] = {b"": {b"length": 1, b"pieces root": b"r" * 32}}
    for _ in range(12):
        node = {b"d": node}
    with pytest.raises(InvalidInput, match="deeper"):
        v2_files({b"file tree": node})


def test_torrent_bytes_keep_the_info_dict_byte_for_byte() -> None:
    info = b"d4:name1:x12:piece lengthi16384e6:pieces0:e"
    assert torrent_bytes(info, {}) == b"d4:info" + info + b"e"
    with_layers = bencoding.decode(torrent_bytes(info, {b"r" * 32: b"L" * 64}))
    assert with_layers == {b"info": bencoding.decode(info), b"piece layers": {b"r" * 32: b"L" * 64}}
    with pytest.raises(InvalidInput):
        torrent_bytes(b"i1e", {})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("post-3", "post-3-0123abcd.torrent"),
        (
            "swarmfeed-0123456789abcdef-page-2.bencode",
            "swarmfeed-0123456789abcdef-page-2.bencode-0123abcd.torrent",
        ),
        ('../../etc/"passwd"\r\n', "etc_passwd-0123abcd.torrent"),
        ("Ünïcode clip 🎵", "Unicode_clip-0123abcd.torrent"),
        ("...", "torrent-0123abcd.torrent"),
        ("x" * 300, "x" * 80 + "-0123abcd.torrent"),
    ],
)
def test_export_filename_is_plain(name: str, expected: str) -> None:
    assert export_filename(name, "0123abcd" + "0" * 32) == expected

"""Version-2 pages and heads: SHA-256 chaining, unknown keys, unknown kinds (protocol.md §5, §6)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from swarmfeed.core import bencoding
from swarmfeed.core.feed import (
    PAGE_CAPACITY,
    FeedPage,
    HeadPointer,
    Profile,
    decode_head_value,
    decode_page,
    encode_head_value,
    next_page,
    page_sha256,
    verify_page,
)
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import Post, SignedPost, sign_post
from swarmfeed.errors import BencodeError, InvalidInput

ALICE = KeyPair.from_seed(b"\x01" * 32)
PREV = b"\x33" * 20


def post(seq: int, version: int = 2) -> SignedPost:
    return sign_post(
        Post(ALICE.public_key, seq, 1_700_000_000, f"post {seq}", version=version), ALICE
    )


def raw(page: FeedPage) -> dict[bytes, Any]:
    return bencoding.dictionary(bencoding.decode(page.encode()), "page")


def test_a_page_holding_a_version_2_post_is_version_2_and_names_its_predecessor_by_sha256() -> None:
    page0 = None
    for seq in range(PAGE_CAPACITY):
        page0 = next_page(page0, None, post(seq), None)
    assert page0 is not None and page0.is_full and page0.version == 2
    page1 = next_page(page0, PREV, post(PAGE_CAPACITY), Profile("Alice", "x"))
    assert page1.version == 2
    assert page1.prevh == hashlib.sha256(page0.encode()).digest()
    assert page1.profile is None  # version 2 publishes profiles as posts
    assert raw(page1)[b"version"] == 2 and raw(page1)[b"prevh"] == page1.prevh
    decoded = decode_page(page1.encode())
    assert decoded == page1 and decoded.encode() == page1.encode()
    verify_page(decoded, ALICE.public_key)


def test_a_version_1_page_becomes_version_2_when_a_version_2_post_joins_it() -> None:
    old = FeedPage(ALICE.public_key, 1, 64, PAGE_CAPACITY, PREV, (post(64, 1),), Profile("A", ""))
    assert old.version == 1
    with pytest.raises(InvalidInput, match="SHA-256 of the page before it"):
        next_page(old, None, post(65), None)
    upgraded = next_page(old, None, post(65), None, prev_sha256=b"\x44" * 32)
    assert (upgraded.version, upgraded.prevh, upgraded.profile) == (2, b"\x44" * 32, None)
    verify_page(decode_page(upgraded.encode()), ALICE.public_key)


def test_a_version_2_page_needs_prevh_exactly_when_it_has_a_predecessor() -> None:
    page = FeedPage(ALICE.public_key, 1, 64, PAGE_CAPACITY, PREV, (post(64),))
    with pytest.raises(InvalidInput, match="prevh"):
        verify_page(decode_page(page.encode()), ALICE.public_key)
    first = FeedPage(ALICE.public_key, 0, 0, PAGE_CAPACITY, None, (post(0),), None, b"\x01" * 32)
    with pytest.raises(InvalidInput, match="prevh"):
        verify_page(decode_page(first.encode()), ALICE.public_key)


def test_unknown_page_keys_are_ignored_in_version_2_and_refused_in_version_1() -> None:
    value = raw(FeedPage(ALICE.public_key, 0, 0, PAGE_CAPACITY, None, (post(0),)))
    value[b"zz-later"] = [1, 2, 3]
    verify_page(decode_page(bencoding.encode(value)), ALICE.public_key)
    value[b"version"] = 1
    with pytest.raises(BencodeError, match="unknown keys"):
        decode_page(bencoding.encode(value))


def test_a_newer_page_version_needs_a_newer_swarmfeed() -> None:
    value = raw(FeedPage(ALICE.public_key, 0, 0, PAGE_CAPACITY, None, (post(0),)))
    value[b"version"] = 3
    with pytest.raises(InvalidInput, match="needs a newer swarmfeed"):
        decode_page(bencoding.encode(value))


def test_a_page_holding_a_post_of_an_unknown_kind_is_accepted() -> None:
    odd = {
        b"version": 2,
        b"author": ALICE.public_key,
        b"seq": 1,
        b"created": 5,
        b"kind": b"poll",
        b"options": [b"yes", b"no"],
    }
    odd[b"sig"] = ALICE.sign(bencoding.encode(odd))
    value = raw(FeedPage(ALICE.public_key, 0, 0, PAGE_CAPACITY, None, (post(0),)))
    value[b"posts"].append(odd)
    data = bencoding.encode(value)
    page = decode_page(data)
    verify_page(page, ALICE.public_key)
    assert [p.post.supported for p in page.posts] == [True, False]
    assert page.posts[1].encode() == bencoding.encode(odd)


def test_the_head_value_carries_the_sha256_of_the_newest_page() -> None:
    head = HeadPointer(b"\x01" * 20, 3, page_sha256(b"page bytes"))
    value = encode_head_value(head)
    assert bencoding.decode(value)[b"h"] == hashlib.sha256(b"page bytes").digest()
    assert decode_head_value(value) == head
    assert decode_head_value(encode_head_value(HeadPointer(b"\x01" * 20, 3))).sha256 is None
    bad = bencoding.encode({"h": b"\x00" * 20, "ih": b"\x01" * 20, "n": 3})
    with pytest.raises(BencodeError, match="head h"):
        decode_head_value(bad)

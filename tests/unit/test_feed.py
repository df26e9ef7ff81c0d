"""Version-1 feed pages, chaining and the head acceptance policy (protocol.md §5, §6).

Version-1 pages hold version-1 posts; tests/unit/test_feed_v2.py covers version 2.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.core.feed import (
    MAX_HEAD_VALUE_BYTES,
    MAX_PAGE_BYTES,
    PAGE_CAPACITY,
    FeedPage,
    HeadPointer,
    HeadVerdict,
    Profile,
    check_log_consistency,
    decode_head_value,
    decode_page,
    encode_head_value,
    judge_head,
    next_page,
    verify_page,
)
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import MediaFile, MediaRef, Post, SignedPost, sign_post
from swarmfeed.errors import (
    BencodeError,
    InvalidInput,
    InvalidSignature,
    RolledBack,
    TooLarge,
    WrongAuthor,
)

ALICE = KeyPair.from_seed(b"\x01" * 32)
BOB = KeyPair.from_seed(b"\x02" * 32)
PREV = b"\x33" * 20
PROFILE = Profile("Alice", "writes things")
REF = MediaRef(b"\x11" * 20, b"\x22" * 32, "post-3", (MediaFile("a.png", 3, "image/png"),))


def signed(seq: int, keys: KeyPair = ALICE, text: str | None = None) -> SignedPost:
    post = Post(keys.public_key, seq, 1_700_000_000 + seq, text or f"post {seq}", version=1)
    return sign_post(post, keys)


def page(index: int = 0, count: int = 3, **changes: Any) -> FeedPage:
    first = index * PAGE_CAPACITY
    value = FeedPage(
        ALICE.public_key,
        index,
        first,
        PAGE_CAPACITY,
        PREV if index else None,
        tuple(signed(first + i) for i in range(count)),
        PROFILE,
    )
    return dataclasses.replace(value, **changes)


def raw(value: FeedPage) -> dict[bytes, Any]:
    decoded = bencoding.decode(value.encode())
    assert isinstance(decoded, dict)
    return decoded


# --- encoding --------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=5),
    st.none() | st.builds(Profile, st.text(max_size=16), st.text(max_size=100)),
)
def test_page_round_trip(index: int, count: int, profile: Profile | None) -> None:
    value = page(index, count, profile=profile)
    encoded = value.encode()
    decoded = decode_page(encoded)
    assert decoded == value
    assert decoded.encode() == encoded
    verify_page(decoded, ALICE.public_key)


def test_page_layout() -> None:
    value = page(0, 2, profile=None)
    assert raw(value).keys() == {b"version", b"author", b"index", b"first", b"capacity", b"posts"}
    assert raw(page(1, 1))[b"prev"] == PREV
    assert raw(page(1, 1))[b"profile"] == {b"name": b"Alice", b"bio": b"writes things"}
    assert raw(value)[b"posts"][1] == bencoding.decode(value.posts[1].encode())
    assert raw(value)[b"version"] == 1


def test_page_properties() -> None:
    value = page(2, 5)
    assert value.file_name == f"swarmfeed-{ALICE.public_key.hex()[:16]}-page-2.bencode"
    assert value.last_seq == 2 * PAGE_CAPACITY + 4
    assert not value.is_full
    assert page(0, 0).last_seq == -1
    assert page(0, PAGE_CAPACITY).is_full


def test_page_with_media_round_trips() -> None:
    media_post = sign_post(Post(ALICE.public_key, 0, 1, "pic", REF, version=1), ALICE)
    value = page(0, 0, posts=(media_post,))
    assert decode_page(value.encode()) == value


# --- strict decoding -------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"version", b"author", b"index", b"first", b"capacity", b"posts"])
def test_decode_requires_keys(key: bytes) -> None:
    value = raw(page())
    del value[key]
    with pytest.raises(BencodeError, match="lacks"):
        decode_page(bencoding.encode(value))


@pytest.mark.parametrize(
    ("key", "bad", "error"),
    [
        (b"extra", 1, BencodeError),
        (b"version", 3, InvalidInput),
        (b"author", b"\x01" * 31, BencodeError),
        (b"index", -1, BencodeError),
        (b"index", b"0", BencodeError),
        (b"first", -1, BencodeError),
        (b"capacity", 0, BencodeError),
        (b"prev", b"\x00" * 32, BencodeError),
        (b"posts", b"", BencodeError),
        (b"posts", [b"x"], BencodeError),
        (b"posts", [{}], BencodeError),
        (b"profile", b"", BencodeError),
        (b"profile", {b"name": b"a"}, BencodeError),
        (b"profile", {b"name": b"a", b"bio": b"", b"x": b""}, BencodeError),
        (b"profile", {b"name": b"a" * 65, b"bio": b""}, TooLarge),
        (b"profile", {b"name": b"a", b"bio": b"b" * 513}, TooLarge),
        (b"profile", {b"name": b"\xff", b"bio": b""}, BencodeError),
    ],
)
def test_decode_rejects_bad_fields(key: bytes, bad: Any, error: type[Exception]) -> None:
    value = raw(page())
    value[key] = bad
    with pytest.raises(error):
        decode_page(bencoding.encode(value))


def test_decode_rejects_a_bad_post_inside() -> None:
    value = raw(page())
    value[b"posts"][1][b"kind"] = b"repost"
    with pytest.raises(InvalidInput, match="kind"):
        decode_page(bencoding.encode(value))


def test_decode_limits() -> None:
    assert len(page(0, PAGE_CAPACITY).encode()) < MAX_PAGE_BYTES
    with pytest.raises(TooLarge):
        decode_page(b"0:" + b"\x00" * MAX_PAGE_BYTES)
    value = raw(page())
    value[b"posts"][0][b"text"] = b"x" * 70_000
    with pytest.raises(TooLarge):
        decode_page(bencoding.encode(value))


def test_decode_rejects_non_canonical() -> None:
    encoded = page(1, 2).encode()
    with pytest.raises(BencodeError):
        decode_page(encoded + b"e")
    with pytest.raises(BencodeError):
        decode_page(encoded.replace(b"5:indexi1e", b"5:indexi01e"))
    with pytest.raises(BencodeError):
        decode_page(b"li1ee")


# --- verification ----------------------------------------------------------------------------


def test_verify_accepts_valid_pages() -> None:
    verify_page(page(0, 0), ALICE.public_key)
    verify_page(page(0, PAGE_CAPACITY), ALICE.public_key)
    verify_page(page(3, 1, profile=None), ALICE.public_key)


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"capacity": 32}, InvalidInput, "capacity"),
        ({"first": 1}, InvalidInput, "starts at seq 1"),
        ({"index": 1}, InvalidInput, "starts at seq 0"),
        ({"index": 1, "first": PAGE_CAPACITY}, InvalidInput, "prev"),
        ({"prev": PREV}, InvalidInput, "prev"),
        ({"posts": tuple(signed(i) for i in range(PAGE_CAPACITY + 1))}, InvalidInput, "capacity"),
        ({"posts": (signed(0), signed(2))}, InvalidInput, "contiguous"),
        ({"posts": (signed(1),)}, InvalidInput, "contiguous"),
        ({"posts": (signed(1), signed(0))}, InvalidInput, "contiguous"),
        ({"posts": (signed(0), signed(0))}, InvalidInput, "contiguous"),
        ({"posts": (signed(0, BOB),)}, WrongAuthor, "expected"),
        ({"author": BOB.public_key}, WrongAuthor, "expected"),
    ],
)
def test_verify_rejects(changes: dict[str, Any], error: type[Exception], reason: str) -> None:
    value = dataclasses.replace(page(0, 1), **changes)
    with pytest.raises(error, match=reason):
        verify_page(value, ALICE.public_key)


def test_verify_rejects_missing_prev_on_later_pages() -> None:
    with pytest.raises(InvalidInput, match="prev"):
        verify_page(page(1, 1, prev=None), ALICE.public_key)


def test_verify_rejects_a_forged_post() -> None:
    good = signed(1)
    forged = SignedPost(dataclasses.replace(good.post, text="forged"), good.signature)
    with pytest.raises(InvalidSignature):
        verify_page(page(0, 0, posts=(signed(0), forged)), ALICE.public_key)


def test_verify_rejects_a_page_of_another_author() -> None:
    bobs = page(0, 0, author=BOB.public_key, posts=(signed(0, BOB),))
    verify_page(bobs, BOB.public_key)
    with pytest.raises(WrongAuthor):
        verify_page(bobs, ALICE.public_key)


# --- appending -------------------------------------------------------------------------------


def test_next_page_walks_across_full_pages() -> None:
    newest: FeedPage | None = None
    infohash: bytes | None = None
    infohashes: list[bytes] = []
    for seq in range(2 * PAGE_CAPACITY + 1):
        updated = next_page(newest, infohash, signed(seq), PROFILE)
        verify_page(updated, ALICE.public_key)
        assert updated.last_seq == seq
        assert updated.index == seq // PAGE_CAPACITY
        if newest is not None and updated.index == newest.index:
            assert updated.posts[:-1] == newest.posts
            assert updated.prev == newest.prev
        newest = updated
        infohash = bytes([seq % 256]) * 20  # stands for the torrent seeded for this page
        infohashes.append(infohash)
    assert newest is not None
    assert (newest.index, newest.first, len(newest.posts)) == (2, 128, 1)
    assert newest.prev == infohashes[2 * PAGE_CAPACITY - 1]


def test_next_page_transition_at_the_boundary() -> None:
    full = page(0, PAGE_CAPACITY)
    new = next_page(full, PREV, signed(PAGE_CAPACITY), None)
    assert (new.index, new.first, new.prev, new.posts) == (1, 64, PREV, (signed(64),))
    assert new.profile is None
    one_short = page(0, PAGE_CAPACITY - 1)
    same = next_page(one_short, PREV, signed(PAGE_CAPACITY - 1), PROFILE)
    assert (same.index, same.is_full, same.prev) == (0, True, None)
    # A page that fills up is frozen without a profile: its posts alone determine its bytes.
    assert same.profile is None
    assert next_page(page(0, 3), PREV, signed(3), PROFILE).profile == PROFILE


def test_next_page_first_post() -> None:
    first = next_page(None, None, signed(0), PROFILE)
    assert first == FeedPage(ALICE.public_key, 0, 0, PAGE_CAPACITY, None, (signed(0),), PROFILE)


@pytest.mark.parametrize(
    ("newest", "infohash", "post", "error"),
    [
        (None, None, signed(1), InvalidInput),
        (page(0, 3), PREV, signed(2), InvalidInput),
        (page(0, 3), PREV, signed(4), InvalidInput),
        (page(0, 3), PREV, signed(3, BOB), WrongAuthor),
        (page(0, PAGE_CAPACITY), None, signed(PAGE_CAPACITY), InvalidInput),
        (page(0, PAGE_CAPACITY), b"\x00" * 32, signed(PAGE_CAPACITY), InvalidInput),
    ],
)
def test_next_page_rejects(
    newest: FeedPage | None, infohash: bytes | None, post: SignedPost, error: type[Exception]
) -> None:
    with pytest.raises(error):
        next_page(newest, infohash, post, None)


def test_next_page_checks_the_profile() -> None:
    with pytest.raises(TooLarge):
        next_page(None, None, signed(0), Profile("n" * 65, ""))
    with pytest.raises(TooLarge):
        next_page(None, None, signed(0), Profile("", "é" * 257))
    next_page(None, None, signed(0), Profile("n" * 64, "b" * 512))


# --- head value ------------------------------------------------------------------------------


@given(st.binary(min_size=20, max_size=20), st.integers(min_value=0, max_value=2**63 - 1))
def test_head_value_round_trip(infohash: bytes, count: int) -> None:
    head = HeadPointer(infohash, count)
    assert decode_head_value(encode_head_value(head)) == head


def test_head_value_encoding() -> None:
    value = encode_head_value(HeadPointer(PREV, 7))
    assert value == b"d2:ih20:" + PREV + b"1:ni7ee"


@pytest.mark.parametrize("head", [HeadPointer(PREV[:19], 1), HeadPointer(PREV, -1)])
def test_encode_head_value_rejects(head: HeadPointer) -> None:
    with pytest.raises(InvalidInput):
        encode_head_value(head)


def test_decode_head_value_ignores_extra_keys() -> None:
    value = bencoding.encode({"ih": PREV, "n": 3, "zz": b"x", "a": [1]})
    assert decode_head_value(value) == HeadPointer(PREV, 3)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (bencoding.encode({"ih": PREV, "n": 1, "pad": b"x" * 1000}), TooLarge),
        (bencoding.encode({"ih": PREV}), BencodeError),
        (bencoding.encode({"n": 1}), BencodeError),
        (bencoding.encode({"ih": PREV[:19], "n": 1}), BencodeError),
        (bencoding.encode({"ih": PREV, "n": -1}), BencodeError),
        (bencoding.encode({"ih": PREV, "n": b"1"}), BencodeError),
        (bencoding.encode([PREV, 1]), BencodeError),
        (bencoding.encode(b"d2:ih20:" + PREV + b"1:ni1ee"), BencodeError),
        (b"d2:ih20:" + PREV + b"1:ni01ee", BencodeError),
        (b"d1:ni1e2:ih20:" + PREV + b"e", BencodeError),
        (b"d2:ih20:" + PREV + b"1:ni1eee", BencodeError),
    ],
)
def test_decode_head_value_rejects(value: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_head_value(value)


def test_head_value_size_boundary() -> None:
    def padded(size: int) -> bytes:
        pad = size - len(bencoding.encode({"ih": PREV, "n": 1, "pad": b""}))
        return bencoding.encode({"ih": PREV, "n": 1, "pad": b"x" * (pad - len(str(pad)) + 1)})

    exact = padded(MAX_HEAD_VALUE_BYTES)
    assert len(exact) == MAX_HEAD_VALUE_BYTES
    decode_head_value(exact)
    with pytest.raises(TooLarge):
        decode_head_value(padded(MAX_HEAD_VALUE_BYTES + 1))


# --- head acceptance policy ------------------------------------------------------------------

V5 = encode_head_value(HeadPointer(PREV, 5))
V6 = encode_head_value(HeadPointer(b"\x44" * 20, 6))


@pytest.mark.parametrize(
    ("known_seq", "known_value", "known_count", "seq", "value", "verdict"),
    [
        (None, None, 0, 1, V5, HeadVerdict.NEW),
        (None, None, 5, 0, V5, HeadVerdict.NEW),
        (3, V5, 5, 4, V6, HeadVerdict.NEW),
        (3, V5, 5, 4, V5, HeadVerdict.NEW),
        (3, V5, 5, 3, V5, HeadVerdict.SAME),
        (3, None, 5, 3, V5, HeadVerdict.SAME),
        (3, V5, 0, 3, V5, HeadVerdict.SAME),
    ],
)
def test_judge_head_accepts(
    known_seq: int | None,
    known_value: bytes | None,
    known_count: int,
    seq: int,
    value: bytes,
    verdict: HeadVerdict,
) -> None:
    assert judge_head(known_seq, known_value, known_count, seq, value) is verdict


@pytest.mark.parametrize(
    ("known_seq", "known_value", "known_count", "seq", "value", "reason"),
    [
        (3, V5, 5, 2, V5, "rolled back"),
        (3, V5, 5, 0, V6, "rolled back"),
        (3, V5, 5, 3, V6, "replayed"),
        (3, V6, 6, 4, V5, "rewritten log"),
        (None, None, 6, 1, V5, "rewritten log"),
    ],
)
def test_judge_head_refuses(
    known_seq: int | None,
    known_value: bytes | None,
    known_count: int,
    seq: int,
    value: bytes,
    reason: str,
) -> None:
    with pytest.raises(RolledBack, match=reason):
        judge_head(known_seq, known_value, known_count, seq, value)


@pytest.mark.parametrize("value", [b"x" * 1001, b"le", bencoding.encode({"ih": b"short", "n": 1})])
def test_judge_head_refuses_bad_values(value: bytes) -> None:
    with pytest.raises(InvalidInput):
        judge_head(None, None, 0, 1, value)


# --- log consistency -------------------------------------------------------------------------


def test_check_log_consistency() -> None:
    value = page(0, 3)
    ids = {p.post.seq: p.id for p in value.posts}
    check_log_consistency({}, value)
    check_log_consistency(ids, value)
    check_log_consistency({0: ids[0], 99: "f" * 64}, value)
    rewritten = page(0, 0, posts=(signed(0), signed(1, text="edited"), signed(2)))
    with pytest.raises(RolledBack, match="rewritten log"):
        check_log_consistency(ids, rewritten)

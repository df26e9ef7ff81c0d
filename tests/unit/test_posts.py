"""Version-1 posts and media references: encoding, limits, signing, verification (§3.1, §4).

A version-2 node reads version-1 posts exactly as version 1 defined them; these tests pin that
(tests/unit/test_posts_v2.py covers version 2).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import (
    MAX_CREATED,
    MAX_FILES,
    MAX_POST_BYTES,
    MAX_POST_BYTES_V2,
    MAX_TEXT_BYTES,
    MediaFile,
    MediaRef,
    Post,
    SignedPost,
    decode_post,
    sign_post,
    verify_post,
)
from swarmfeed.errors import (
    BencodeError,
    InvalidInput,
    InvalidSignature,
    TooLarge,
    UnsafePath,
    WrongAuthor,
)

ALICE = KeyPair.from_seed(b"\x01" * 32)
BOB = KeyPair.from_seed(b"\x02" * 32)
CREATED = 1_700_000_000
REF = MediaRef(
    b"\x11" * 20,
    b"\x22" * 32,
    "post-0",
    (MediaFile("cat.jpg", 1234, "image/jpeg"), MediaFile("docs/a.pdf", 0, "application/pdf")),
)


def post(text: str = "hello", seq: int = 0, media: MediaRef | None = None, **kw: Any) -> Post:
    kw.setdefault("version", 1)
    return Post(ALICE.public_key, seq, CREATED, text, media, **kw)


def signed(text: str = "hello", seq: int = 0, media: MediaRef | None = None) -> SignedPost:
    return sign_post(post(text, seq, media), ALICE)


def raw(item: SignedPost) -> dict[bytes, Any]:
    value = bencoding.decode(item.encode())
    assert isinstance(value, dict)
    return value


media_files = st.lists(
    st.builds(
        MediaFile,
        st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9][a-z0-9.]{0,7}){0,2}", fullmatch=True),
        st.integers(min_value=0, max_value=2**40),
        st.sampled_from(["image/png", "video/mp4", "text/plain; charset=utf-8"]),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda f: f.path,
)
media_refs = st.builds(
    MediaRef,
    st.binary(min_size=20, max_size=20),
    st.binary(min_size=32, max_size=32),
    st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
    media_files.map(tuple),
)
posts = st.builds(
    Post,
    st.just(ALICE.public_key),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.integers(min_value=0, max_value=MAX_CREATED),
    st.text(max_size=200),
    st.none() | media_refs,
    st.just("post"),
    st.sampled_from([1, 2]),
)


@settings(max_examples=60)
@given(posts)
def test_sign_encode_decode_round_trip(value: Post) -> None:
    item = sign_post(value, ALICE)
    encoded = item.encode()
    decoded = decode_post(encoded)
    assert decoded == item
    assert decoded.encode() == encoded
    assert decode_post(bencoding.decode(encoded)) == item
    verify_post(decoded, ALICE.public_key)


def test_signed_bytes_and_id() -> None:
    item = signed("hi")
    expected = (
        b"d6:author32:" + ALICE.public_key + b"7:createdi1700000000e4:kind4:post"
        b"3:seqi0e4:text2:hi7:versioni1ee"
    )
    assert item.post.signable_bytes() == expected
    assert item.id == hashlib.sha256(expected).hexdigest()
    sig_entry = b"3:sig64:" + item.signature
    assert item.encode() == expected.replace(b"4:text", sig_entry + b"4:text")
    assert len(item.encode()) == len(expected) + 72
    assert ALICE.sign(expected) == item.signature


def test_media_is_signed_and_round_trips() -> None:
    item = signed(media=REF)
    assert decode_post(item.encode()).post.media == REF
    assert REF.total_size == 1234
    assert REF.to_bencodable()["files"][1] == {
        "path": "docs/a.pdf",
        "size": 0,
        "mime": "application/pdf",
    }
    assert item.id != signed().id


def test_id_ignores_the_signature() -> None:
    item = signed()
    assert SignedPost(item.post, b"\x00" * 64).id == item.id


# --- signatures -----------------------------------------------------------------------------


def test_sign_post_needs_the_author_key() -> None:
    with pytest.raises(WrongAuthor):
        sign_post(post(), BOB)


def test_verify_wrong_author() -> None:
    item = signed()
    verify_post(item)
    with pytest.raises(WrongAuthor):
        verify_post(item, BOB.public_key)


def test_flipped_text_or_signature_fails() -> None:
    item = signed("I pay you")
    with pytest.raises(InvalidSignature):
        verify_post(dataclasses.replace(item, post=dataclasses.replace(item.post, text="I pay me")))
    bad = bytearray(item.signature)
    bad[10] ^= 1
    with pytest.raises(InvalidSignature):
        verify_post(SignedPost(item.post, bytes(bad)))
    with pytest.raises(InvalidSignature):
        verify_post(SignedPost(item.post, item.signature[:63]))


@given(st.data())
def test_any_flipped_bit_in_the_encoding_is_refused(data: st.DataObject) -> None:
    encoded = bytearray(signed("hello world", media=REF).encode())
    index = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    encoded[index] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    with pytest.raises(InvalidInput):
        verify_post(decode_post(bytes(encoded)), ALICE.public_key)


def test_key_swap_is_refused() -> None:
    item = signed()
    stolen = SignedPost(dataclasses.replace(item.post, author=BOB.public_key), item.signature)
    with pytest.raises(InvalidSignature):
        verify_post(stolen, BOB.public_key)


def test_media_swap_is_refused() -> None:
    item = signed(media=REF)
    other = dataclasses.replace(REF, infohash=b"\x33" * 20)
    forged = SignedPost(dataclasses.replace(item.post, media=other), item.signature)
    with pytest.raises(InvalidSignature):
        verify_post(forged)


# --- limits and validation ------------------------------------------------------------------


def test_text_limit() -> None:
    sign_post(post("x" * MAX_TEXT_BYTES), ALICE)
    with pytest.raises(TooLarge):
        sign_post(post("x" * (MAX_TEXT_BYTES + 1)), ALICE)
    with pytest.raises(TooLarge):
        sign_post(post("é" * (MAX_TEXT_BYTES // 2 + 1)), ALICE)


def test_encoded_post_limit() -> None:
    files = tuple(
        MediaFile("/".join([f"{i:03d}" + "x" * 250] * 4), 1, "a/b") for i in range(MAX_FILES)
    )
    big = dataclasses.replace(REF, files=files)
    with pytest.raises(TooLarge, match="encoded post"):
        sign_post(post(media=big), ALICE)


def test_encoded_post_limit_at_the_boundary() -> None:
    # 64 files with long paths bring the post within reach of the limit; the text fills the rest.
    component = "c" * 220
    files = tuple(
        MediaFile(f"{i:02d}/" + "/".join([component] * 4), 1, "a/b") for i in range(MAX_FILES)
    )
    ref = dataclasses.replace(REF, files=files)
    base = len(signed("", media=ref).encode())
    assert MAX_POST_BYTES - MAX_TEXT_BYTES < base < MAX_POST_BYTES
    length = next(
        n
        for n in range(MAX_POST_BYTES - base - 6, MAX_POST_BYTES - base + 1)
        if len(post("x" * n, media=ref).signable_bytes()) + 72 == MAX_POST_BYTES
    )
    exact = signed("x" * length, media=ref)
    assert len(exact.encode()) == MAX_POST_BYTES
    assert decode_post(exact.encode()) == exact
    with pytest.raises(TooLarge, match="encoded post"):
        sign_post(post("x" * (length + 1), media=ref), ALICE)
    too_big = dataclasses.replace(exact, post=post("x" * (length + 1), media=ref))
    with pytest.raises(TooLarge):
        decode_post(too_big.encode())


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"version": 3}, InvalidInput),
        ({"kind": "repost"}, InvalidInput),
        ({"kind": "poll", "version": 2}, InvalidInput),
        ({"author": b"\x01" * 31}, InvalidInput),
        ({"seq": -1}, InvalidInput),
        ({"seq": True}, InvalidInput),
        ({"created": "now"}, InvalidInput),
        ({"created": -1}, InvalidInput),
        ({"created": MAX_CREATED + 1}, InvalidInput),
        ({"created": 2**62}, InvalidInput),
        ({"text": b"bytes"}, InvalidInput),
        ({"text": "\ud800"}, InvalidInput),
    ],
)
def test_validate(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        dataclasses.replace(post(), **changes).validate()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"infohash": b"\x11" * 19}, InvalidInput),
        ({"infohash_v2": b"\x22" * 20}, InvalidInput),
        ({"name": ".."}, UnsafePath),
        ({"name": "a/b"}, UnsafePath),
        ({"name": ""}, UnsafePath),
        ({"files": ()}, InvalidInput),
        ({"files": (MediaFile("a", 1, "x/y"),) * (MAX_FILES + 1)}, InvalidInput),
        ({"files": (MediaFile("a", 1, "x/y"), MediaFile("a", 2, "x/y"))}, InvalidInput),
        ({"files": (MediaFile("../etc/passwd", 1, "x/y"),)}, UnsafePath),
        ({"files": (MediaFile("/etc/passwd", 1, "x/y"),)}, UnsafePath),
        ({"files": (MediaFile("a\\..\\b", 1, "x/y"),)}, UnsafePath),
        ({"files": (MediaFile("a", -1, "x/y"),)}, InvalidInput),
        ({"files": (MediaFile("a", 1, ""),)}, InvalidInput),
        ({"files": (MediaFile("a", 1, "x" * 256),)}, TooLarge),
        ({"files": (MediaFile("a", 1, "text/html\r\nSet-Cookie: x"),)}, InvalidInput),
    ],
)
def test_media_validate(changes: dict[str, Any], error: type[Exception]) -> None:
    bad = dataclasses.replace(REF, **changes)
    with pytest.raises(error):
        bad.validate()
    with pytest.raises(error):
        sign_post(post(media=bad), ALICE)


def test_media_limits_accepted() -> None:
    files = tuple(MediaFile(f"f{i}", i, "x" * 255) for i in range(MAX_FILES))
    dataclasses.replace(REF, files=files).validate()


# --- strict decoding -------------------------------------------------------------------------


def encode_raw(value: dict[bytes, Any]) -> bytes:
    return bencoding.encode(value)


@pytest.mark.parametrize(
    "key", [b"version", b"author", b"seq", b"created", b"kind", b"text", b"sig"]
)
def test_decode_requires_every_key(key: bytes) -> None:
    value = raw(signed())
    del value[key]
    with pytest.raises(BencodeError, match="lacks"):
        decode_post(encode_raw(value))


def test_decode_rejects_unknown_keys() -> None:
    value = raw(signed())
    value[b"extra"] = 1
    with pytest.raises(BencodeError, match="unknown"):
        decode_post(encode_raw(value))


@pytest.mark.parametrize(
    ("key", "bad", "error"),
    [
        (b"version", 0, BencodeError),
        (b"version", b"1", BencodeError),
        (b"author", b"\x01" * 31, BencodeError),
        (b"author", "x" * 32, None),
        (b"seq", -1, BencodeError),
        (b"seq", b"0", BencodeError),
        (b"created", b"now", BencodeError),
        (b"created", -5, BencodeError),
        (b"created", 2**62, BencodeError),
        (b"kind", b"repost", InvalidInput),
        (b"kind", b"poll", InvalidInput),
        (b"kind", 1, BencodeError),
        (b"text", b"\xff\xfe", BencodeError),
        (b"text", b"x" * (MAX_TEXT_BYTES + 1), TooLarge),
        (b"text", [b"x"], BencodeError),
        (b"sig", b"\x00" * 63, BencodeError),
        (b"sig", b"\x00" * 65, BencodeError),
        (b"media", b"", BencodeError),
        (b"media", {}, BencodeError),
    ],
)
def test_decode_rejects_bad_fields(key: bytes, bad: Any, error: type[Exception] | None) -> None:
    value = raw(signed())
    value[key] = bad
    if error is None:  # still well-formed: only the signature catches it
        with pytest.raises(InvalidSignature):
            verify_post(decode_post(encode_raw(value)))
        return
    with pytest.raises(error):
        decode_post(encode_raw(value))


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda m: m.__setitem__(b"extra", 1), BencodeError),
        (lambda m: m.__delitem__(b"ih2"), BencodeError),
        (lambda m: m.__setitem__(b"ih", b"\x00" * 32), BencodeError),
        (lambda m: m.__setitem__(b"name", b".."), UnsafePath),
        (lambda m: m.__setitem__(b"name", b"\xff"), BencodeError),
        (lambda m: m.__setitem__(b"files", []), InvalidInput),
        (lambda m: m.__setitem__(b"files", {}), BencodeError),
        (lambda m: m[b"files"].append(m[b"files"][0]), InvalidInput),
        (lambda m: m[b"files"].append(b"x"), BencodeError),
        (lambda m: m.__setitem__(b"files", m[b"files"] * 40), TooLarge),
        (lambda m: m[b"files"][0].__setitem__(b"path", b"../../evil.sh"), UnsafePath),
        (lambda m: m[b"files"][0].__setitem__(b"path", b"a/\x00"), UnsafePath),
        (lambda m: m[b"files"][0].__setitem__(b"size", -1), BencodeError),
        (lambda m: m[b"files"][0].__setitem__(b"mime", b""), InvalidInput),
        (lambda m: m[b"files"][0].__setitem__(b"mime", b"x" * 256), TooLarge),
        (lambda m: m[b"files"][0].__setitem__(b"extra", b""), BencodeError),
        (lambda m: m[b"files"][0].__delitem__(b"mime"), BencodeError),
    ],
)
def test_decode_rejects_bad_media(mutate: Any, error: type[Exception]) -> None:
    value = raw(signed(media=REF))
    mutate(value[b"media"])
    with pytest.raises(error):
        decode_post(encode_raw(value))


def test_decode_rejects_non_canonical_encodings() -> None:
    encoded = signed().encode()
    # A leading zero in seq, unsorted keys, trailing bytes: same logical post, other bytes.
    with pytest.raises(BencodeError):
        decode_post(encoded.replace(b"3:seqi0e", b"3:seqi00e"))
    with pytest.raises(BencodeError):
        decode_post(encoded + b"\x00")
    value = raw(signed())
    swapped = b"d" + b"".join(
        bencoding.encode(k) + bencoding.encode(v) for k, v in reversed(list(value.items()))
    )
    with pytest.raises(BencodeError):
        decode_post(swapped + b"e")


def test_decode_rejects_oversized_and_non_dicts() -> None:
    with pytest.raises(TooLarge):
        decode_post(b"0:" + b"x" * MAX_POST_BYTES_V2)
    with pytest.raises(BencodeError, match="dictionary"):
        decode_post(b"li1ee")
    value = raw(signed())
    value[b"text"] = b"x" * MAX_TEXT_BYTES
    value[b"media"] = {b"pad": b"x" * MAX_POST_BYTES}
    with pytest.raises(TooLarge):
        decode_post(value)


def test_decode_from_dict_equals_decode_from_bytes() -> None:
    item = signed(media=REF)
    assert decode_post(raw(item)) == decode_post(item.encode()) == item

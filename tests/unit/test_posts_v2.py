"""Version-2 posts: kinds, forward compatibility, reposts verified whole (protocol.md §3.2)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.kinds import PayAddress, PostRef, ProfileInfo
from swarmfeed.core.posts import (
    MAX_POST_BYTES,
    MAX_POST_BYTES_V2,
    MediaFile,
    MediaRef,
    Post,
    SignedPost,
    decode_post,
    sign_post,
    verify_post,
)
from swarmfeed.errors import BencodeError, InvalidInput, InvalidSignature, TooLarge

ALICE = KeyPair.from_seed(b"\x01" * 32)
BOB = KeyPair.from_seed(b"\x02" * 32)
CREATED = 1_700_000_000
IMAGE = MediaRef(b"\x11" * 20, b"\x22" * 32, "post-3", (MediaFile("me.png", 9, "image/png"),))


def by(keys: KeyPair, seq: int = 0, text: str = "", **fields: Any) -> SignedPost:
    return sign_post(Post(keys.public_key, seq, CREATED, text, **fields), keys)


def raw(item: SignedPost) -> dict[bytes, Any]:
    return bencoding.dictionary(bencoding.decode(item.encode()), "post")


def resign(keys: KeyPair, value: dict[bytes, Any]) -> bytes:
    """Sign an arbitrary post dict as another client might write it."""
    unsigned = {k: v for k, v in value.items() if k != b"sig"}
    return bencoding.encode({**unsigned, b"sig": keys.sign(bencoding.encode(unsigned))})


def test_a_version_2_post_leaves_empty_text_out_and_round_trips() -> None:
    item = by(ALICE, text="")
    assert b"text" not in raw(item)
    assert raw(item)[b"version"] == 2
    decoded = decode_post(item.encode())
    assert decoded == item and decoded.post.text == ""
    verify_post(decoded, ALICE.public_key)


KIND_FIELDS = [
    {"kind": "post", "text": "hi", "mentions": (BOB.public_key,)},
    {
        "kind": "reply",
        "text": "yes",
        "reply_to": PostRef(b"\x05" * 32, BOB.public_key),
        "root": PostRef(b"\x06" * 32, BOB.public_key),
    },
    {"kind": "like", "sealed": b"\x07" * 120},
    {"kind": "delete", "target": b"\x08" * 32},
    {
        "kind": "profile",
        "profile": ProfileInfo("Alice", "bio", ("https://a.example",), PayAddress("iban", "DE00")),
        "media": IMAGE,
    },
]


@pytest.mark.parametrize("fields", KIND_FIELDS, ids=[f["kind"] for f in KIND_FIELDS])
def test_every_kind_signs_decodes_and_verifies(fields: dict[str, Any]) -> None:
    item = by(ALICE, **fields)
    decoded = decode_post(item.encode())
    assert decoded == item
    assert decoded.id == item.id == hashlib.sha256(item.post.signable_bytes()).hexdigest()
    assert decoded.post.supported
    verify_post(decoded, ALICE.public_key)


def test_a_repost_carries_the_original_whole_and_a_reader_verifies_it() -> None:
    original = by(BOB, 4, "the original", media=IMAGE)
    repost = by(ALICE, 0, kind="repost", repost=original)
    decoded = decode_post(repost.encode())
    assert decoded.post.repost == original
    assert decoded.post.original == original
    assert decoded.post.repost is not None and decoded.post.repost.id == original.id
    verify_post(decoded, ALICE.public_key)
    quote = by(ALICE, 1, "look at this", kind="repost", repost=original)
    assert not quote.post.is_plain_repost and repost.post.is_plain_repost


def test_a_forged_original_inside_a_repost_fails_verification() -> None:
    original = by(BOB, 4, "I pay you")
    forged = SignedPost(dataclasses.replace(original.post, text="I pay Alice"), original.signature)
    value = raw(by(ALICE, kind="repost", repost=original))
    value[b"repost"] = bencoding.decode(forged.encode())
    decoded = decode_post(resign(ALICE, value))
    with pytest.raises(InvalidSignature, match="reposted post is forged"):
        verify_post(decoded, ALICE.public_key)


def test_reposting_a_plain_repost_must_embed_its_original() -> None:
    original = by(BOB, 4, "the original")
    plain = by(ALICE, 0, kind="repost", repost=original)
    with pytest.raises(InvalidInput, match="embeds its original"):
        by(BOB, 5, kind="repost", repost=plain)
    # A reader that gets one anyway shows the innermost original.
    value = raw(by(BOB, 5, kind="repost", repost=original))
    value[b"repost"] = raw(plain)
    assert decode_post(resign(BOB, value)).post.original == original


def test_reposts_nest_at_most_two_levels() -> None:
    inner = by(BOB, 0, "inner")
    quote = by(ALICE, 0, "quote", kind="repost", repost=inner)
    quote2 = by(BOB, 1, "quote of a quote", kind="repost", repost=quote)
    decode_post(quote2.encode())
    value = raw(by(ALICE, 1, "deeper", kind="repost", repost=inner))
    value[b"repost"] = raw(quote2)
    with pytest.raises(InvalidInput, match="at most 2 levels"):
        decode_post(resign(ALICE, value))


def test_an_embedded_post_is_at_most_65536_bytes() -> None:
    value = raw(by(BOB, 0, "x"))
    value[b"pad"] = b"p" * MAX_POST_BYTES
    big = bencoding.decode(resign(BOB, value))
    outer = raw(by(ALICE, 0, kind="repost", repost=by(BOB, 0, "x")))
    outer[b"repost"] = big
    with pytest.raises(TooLarge):
        decode_post(resign(ALICE, outer))


def test_unknown_keys_are_kept_in_the_signed_bytes_and_ignored() -> None:
    value = raw(by(ALICE, text="hello", kind="reply", reply_to=PostRef(b"\x05" * 32, b"\x06" * 32)))
    value[b"zz-future"] = {b"a": [1, 2]}
    value[b"reply_to"][b"relay"] = b"somewhere"
    data = resign(ALICE, value)
    decoded = decode_post(data)
    verify_post(decoded, ALICE.public_key)
    assert decoded.encode() == data
    assert (
        decoded.id
        == hashlib.sha256(
            bencoding.encode({k: v for k, v in value.items() if k != b"sig"})
        ).hexdigest()
    )
    assert decoded.post.text == "hello" and decoded.post.supported
    # Re-encoding from the fields would lose the unknown keys: a replaced post no longer verifies.
    with pytest.raises(InvalidSignature):
        verify_post(SignedPost(dataclasses.replace(decoded.post), decoded.signature))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({b"kind": b"poll"}, "not known"),
        ({b"version": 3, b"shape": b"new"}, "needs a newer swarmfeed"),
        ({b"crit": [b"text", b"quorum"]}, "quorum"),
    ],
)
def test_a_post_this_reader_cannot_act_on_is_kept_as_unsupported(
    changes: dict[bytes, Any], reason: str
) -> None:
    value = raw(by(ALICE, text="vote here"))
    value.update(changes)
    data = resign(ALICE, value)
    decoded = decode_post(data)
    assert not decoded.post.supported
    assert reason in (decoded.post.unsupported or "")
    assert decoded.post.text == "vote here"
    verify_post(decoded, ALICE.public_key)
    assert decoded.encode() == data


def test_an_unsupported_post_still_needs_its_common_fields() -> None:
    value = raw(by(ALICE, text="x"))
    value[b"kind"] = b"poll"
    del value[b"seq"]
    with pytest.raises(BencodeError, match="lacks seq"):
        decode_post(resign(ALICE, value))


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        (b"reply_to", {b"id": b"short", b"author": b"\x01" * 32}),
        (b"sealed", b""),
        (b"sealed", b"x" * 513),
        (b"target", b"\x01" * 31),
        (b"mentions", [b"\x01" * 32] * 17),
        (b"mentions", [b"\x01" * 32, b"\x01" * 32]),
        (b"crit", [b"x"] * 17),
        (b"profile", {b"name": b"n" * 65}),
        (b"profile", {b"links": [b"l"] * 9}),
        (b"profile", {b"pay": {b"kind": b"iban"}}),
    ],
)
def test_malformed_fields_of_a_known_kind_are_refused(key: bytes, bad: Any) -> None:
    kind = {
        b"reply_to": b"reply",
        b"sealed": b"like",
        b"target": b"delete",
        b"profile": b"profile",
    }.get(key, b"post")
    value = raw(by(ALICE, text="x"))
    value[b"kind"] = kind
    value[key] = bad
    with pytest.raises(InvalidInput):
        decode_post(resign(ALICE, value))


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "reply"},
        {"kind": "like", "sealed": b"x", "text": "no"},
        {"kind": "delete", "target": b"\x01" * 32, "media": IMAGE},
        {"kind": "post", "target": b"\x01" * 32},
        {
            "kind": "profile",
            "profile": ProfileInfo("A"),
            "media": dataclasses.replace(IMAGE, files=(MediaFile("a.txt", 1, "text/plain"),)),
        },
        {"kind": "poll"},
        {"kind": "post", "version": 1, "mentions": (BOB.public_key,)},
    ],
)
def test_a_node_signs_only_well_formed_posts(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        by(ALICE, **fields)


def test_the_encoded_size_limit_is_131072_bytes() -> None:
    value = raw(by(ALICE, text="x"))
    value[b"pad"] = b"p" * (MAX_POST_BYTES_V2 - 300)
    value[b"pad"] += b"p" * (MAX_POST_BYTES_V2 - len(resign(ALICE, value)))
    data = resign(ALICE, value)
    assert len(data) == MAX_POST_BYTES_V2
    decode_post(data)
    value[b"pad"] += b"p" * 100
    with pytest.raises(TooLarge):
        decode_post(resign(ALICE, value))


@settings(max_examples=40)
@given(
    st.dictionaries(
        st.binary(min_size=1, max_size=8),
        st.integers(-(2**63), 2**63 - 1) | st.binary(),
        max_size=4,
    )
)
def test_any_unknown_keys_keep_the_id_and_the_signature(extra: dict[bytes, Any]) -> None:
    value = raw(by(ALICE, text="x"))
    known = set(value) | {b"crit", b"media", b"mentions", b"text"}
    value.update({k: v for k, v in extra.items() if k not in known})
    data = resign(ALICE, value)
    decoded = decode_post(data)
    verify_post(decoded, ALICE.public_key)
    assert decoded.encode() == data

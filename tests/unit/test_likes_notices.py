"""Sealed likes, notices, acknowledgements and the notice query (protocol.md §3.3, §11.8)."""

from __future__ import annotations

import pytest

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KeyPair, author_address
from swarmfeed.core.likes import open_like, seal_like
from swarmfeed.core.notices import (
    GIVE_UP_AFTER,
    MAX_NOTICE_BYTES,
    decode_notice,
    make_notice,
    mentioned_authors,
    next_attempt,
    sign_ack,
    verify_ack,
    verify_notice,
)
from swarmfeed.core.push import wire
from swarmfeed.errors import InvalidInput, InvalidSignature, TooLarge

AUTHOR = KeyPair.from_seed(b"\x0a" * 32)
LIKER = KeyPair.from_seed(b"\x0b" * 32)
OTHER = KeyPair.from_seed(b"\x0c" * 32)
POST = b"\x42" * 32


def test_only_the_author_opens_a_sealed_like_and_sees_who_liked_what() -> None:
    sealed = seal_like(LIKER, AUTHOR.public_key, POST, 1234)
    like = open_like(AUTHOR, sealed)
    assert (like.post, like.liker, like.created) == (POST, LIKER.public_key, 1234)
    for outsider in (LIKER, OTHER):
        with pytest.raises(InvalidInput, match="not addressed"):
            open_like(outsider, sealed)
    # Sealing is randomized: the same like sealed twice looks different from outside.
    assert seal_like(LIKER, AUTHOR.public_key, POST, 1234) != sealed
    assert len(sealed) < 300


def test_a_like_signed_by_someone_else_than_it_claims_is_refused() -> None:
    import nacl.public
    import nacl.signing

    plaintext = bencoding.encode(
        {"post": POST, "liker": LIKER.public_key, "created": 1, "sig": OTHER.sign(b"x")}
    )
    box = nacl.public.SealedBox(
        nacl.signing.VerifyKey(AUTHOR.public_key).to_curve25519_public_key()
    )
    with pytest.raises(InvalidSignature):
        open_like(AUTHOR, bytes(box.encrypt(plaintext)))
    with pytest.raises(InvalidInput):
        open_like(AUTHOR, b"")


def test_a_notice_signs_decodes_and_verifies() -> None:
    notice = make_notice(LIKER, AUTHOR.public_key, "reply", 7, 1000, post=POST)
    data = notice.encode()
    assert len(data) <= MAX_NOTICE_BYTES
    decoded = decode_notice(data)
    assert decoded == notice
    verify_notice(decoded)
    like = make_notice(
        LIKER,
        AUTHOR.public_key,
        "like",
        8,
        1000,
        sealed=seal_like(LIKER, AUTHOR.public_key, POST, 1),
    )
    assert len(like.encode()) <= MAX_NOTICE_BYTES
    verify_notice(decode_notice(like.encode()))


@pytest.mark.parametrize(
    ("kind", "post", "sealed"),
    [
        ("reply", None, None),
        ("like", POST, None),
        ("like", None, b"x" * 600),
        ("mention", POST, None),
        ("boost", POST, None),
    ],
)
def test_malformed_notices_are_refused(kind: str, post: bytes | None, sealed: bytes | None) -> None:
    with pytest.raises(InvalidInput):
        make_notice(LIKER, AUTHOR.public_key, kind, 1, 1, post=post, sealed=sealed)


def test_a_forged_notice_and_a_forged_ack_are_refused() -> None:
    notice = make_notice(LIKER, AUTHOR.public_key, "repost", 2, 3, post=POST)
    raw = bencoding.dictionary(bencoding.decode(notice.encode()), "n")
    raw[b"from"] = OTHER.public_key
    with pytest.raises(InvalidSignature):
        verify_notice(decode_notice(bencoding.encode(raw)))
    ack = sign_ack(AUTHOR, notice.encode())
    verify_ack(AUTHOR.public_key, notice.encode(), ack)
    with pytest.raises(InvalidSignature):
        verify_ack(AUTHOR.public_key, notice.encode(), sign_ack(OTHER, notice.encode()))
    with pytest.raises(InvalidSignature):
        verify_ack(AUTHOR.public_key, notice.encode() + b"", sign_ack(AUTHOR, b"other"))


def test_notices_with_unknown_keys_or_oversized_are_refused() -> None:
    raw = bencoding.dictionary(
        bencoding.decode(make_notice(LIKER, AUTHOR.public_key, "reply", 1, 1, post=POST).encode()),
        "n",
    )
    raw[b"zz"] = 1
    with pytest.raises(InvalidInput, match="unknown"):
        decode_notice(bencoding.encode(raw))
    with pytest.raises(TooLarge):
        decode_notice(b"0:" + b"x" * MAX_NOTICE_BYTES)


def test_retries_double_from_a_minute_to_an_hour_for_a_week() -> None:
    assert next_attempt(1, 0.0, 0.0) == 60.0
    assert next_attempt(2, 0.0, 60.0) == 180.0
    assert next_attempt(10, 0.0, 1000.0) == 1000.0 + 3600.0
    assert next_attempt(200, 0.0, GIVE_UP_AFTER - 10) is None


def test_mentions_are_author_addresses_in_the_text() -> None:
    other, author = author_address(OTHER.public_key), author_address(AUTHOR.public_key)
    text = f"hi {other} and {author} again {other}"
    assert mentioned_authors(text) == (OTHER.public_key, AUTHOR.public_key)
    assert mentioned_authors(text, exclude=OTHER.public_key) == (AUTHOR.public_key,)


def test_the_notice_query_and_its_ack_round_trip_within_one_datagram() -> None:
    notice = make_notice(
        LIKER,
        AUTHOR.public_key,
        "like",
        8,
        1000,
        sealed=seal_like(LIKER, AUTHOR.public_key, POST, 1),
    ).encode()
    query = wire.NoticeQuery(b"t1", AUTHOR.public_key, notice, b"\x01" * 8)
    data = wire.encode(query)
    assert len(data) <= wire.MAX_MESSAGE_BYTES
    assert wire.decode(data) == query
    reply = wire.Reply(b"t1", token=b"\x02" * 8, ack=sign_ack(AUTHOR, notice))
    assert wire.decode(wire.encode(reply)) == reply
    # The token-only answer to an unproven notice is smaller than the notice query.
    assert len(wire.encode(wire.Reply(b"t1", token=b"\x02" * 8))) < len(
        wire.encode(wire.NoticeQuery(b"t1", AUTHOR.public_key, notice))
    )
    with pytest.raises(TooLarge):
        wire.encode(wire.NoticeQuery(b"t1", AUTHOR.public_key, b"x" * 1025))

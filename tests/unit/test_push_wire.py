"""Push channel messages (protocol.md §11): round trips, limits and every refusal."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MAX_SALT_BYTES, MAX_SEQ, MutableItem, sign_item, verify_item
from swarmfeed.core.push import wire
from swarmfeed.core.push.wire import (
    ErrorMessage,
    Push,
    Reply,
    Subscribe,
    UnknownQuery,
    Unsubscribe,
)
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge

SEED = bytes(range(32))
KEY = sign_item(SEED, b"i0e", 0).public_key
HEAD = bencoding.encode({"ih": b"i" * 20, "n": 3})
TID = b"\x00\x07"
TOKEN = b"T" * 8

tids = st.binary(min_size=1, max_size=wire.MAX_TID_BYTES)
tokens = st.none() | st.binary(min_size=8, max_size=8)
keys = st.binary(min_size=32, max_size=32)


@given(tids, keys, tokens)
def test_subscribe_and_unsubscribe_round_trip(tid: bytes, key: bytes, token: bytes | None) -> None:
    for message in (Subscribe(tid, key, token), Unsubscribe(tid, key, token)):
        assert wire.decode(wire.encode(message)) == message


@given(
    tids,
    tokens,
    st.none() | st.integers(1, wire.MAX_TTL),
    st.none() | st.integers(0, wire.MAX_HOPS),
)
def test_reply_round_trips(tid: bytes, token: bytes | None, ttl: int | None, hops: int | None):
    message = Reply(tid, token, ttl, hops)
    assert wire.decode(wire.encode(message)) == message


@given(tids, st.integers(0, 999), st.text(max_size=20))
def test_error_round_trips(tid: bytes, code: int, text: str) -> None:
    assert wire.decode(wire.encode(ErrorMessage(tid, code, text))) == ErrorMessage(tid, code, text)


@given(
    st.integers(0, MAX_SEQ),
    st.binary(max_size=MAX_SALT_BYTES),
    st.integers(0, wire.MAX_HOPS),
    st.recursive(
        st.integers(-(2**63), 2**63 - 1) | st.binary(max_size=40),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.binary(), inner, max_size=4),
        max_leaves=12,
    ),
)
def test_push_carries_the_bep44_item_byte_for_byte(
    seq: int, salt: bytes, hops: int, value: object
) -> None:
    encoded_value = bencoding.encode(value)
    if len(encoded_value) > 1000:
        return
    item = sign_item(SEED, encoded_value, seq, salt)
    decoded = wire.decode(wire.encode(Push(TID, item, hops)))
    assert decoded == Push(TID, item, hops)
    assert isinstance(decoded, Push)
    verify_item(decoded.item)  # the signed bytes survived exactly


def test_the_largest_valid_push_fits_in_a_datagram() -> None:
    value = bencoding.encode(b"x" * 996)
    assert len(value) == 1000
    item = sign_item(SEED, value, MAX_SEQ, b"s" * MAX_SALT_BYTES)
    data = wire.encode(Push(b"t" * wire.MAX_TID_BYTES, item, wire.MAX_HOPS))
    assert len(data) <= wire.MAX_MESSAGE_BYTES


def test_push_looks_like_a_bep44_put() -> None:
    item = sign_item(SEED, HEAD, 9)
    raw = wire.encode(Push(TID, item, 1))
    assert b"1:v" + HEAD in raw  # "v" is the value itself, as in a BEP 44 put
    message = bencoding.decode(raw)
    assert message[b"sf"] == wire.VERSION
    assert message[b"y"] == b"q"
    assert message[b"q"] == b"push"
    assert set(message[b"a"]) == {b"hops", b"k", b"seq", b"sig", b"v"}  # no empty salt


def test_unknown_keys_are_ignored_and_later_versions_read() -> None:
    raw = {
        "sf": 7,
        "t": TID,
        "y": "q",
        "q": "sub",
        "a": {"k": KEY, "future": [1, 2]},
        "zz": "extra",
    }
    assert wire.decode(bencoding.encode(raw)) == Subscribe(TID, KEY, None)


def test_unknown_methods_are_reported_for_error_204() -> None:
    raw = {"sf": 1, "t": TID, "y": "q", "q": "later", "a": {"n": b"..."}}
    assert wire.decode(bencoding.encode(raw)) == UnknownQuery(TID, b"later")


def test_rendezvous_key_is_documented_and_distinct_from_the_head_target() -> None:
    key = wire.rendezvous_key(KEY)
    assert key == hashlib.sha1(b"swarmfeed:push:1:" + KEY).digest()
    assert key != hashlib.sha1(KEY).digest()
    with pytest.raises(InvalidInput):
        wire.rendezvous_key(KEY[:31])


def good(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"sf": 1, "t": TID, "y": "q", "q": "sub", "a": {"k": KEY}}
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (good(sf=0), "sf"),
        ({"t": TID, "y": "q", "q": "sub", "a": {"k": KEY}}, "sf"),
        (good(sf=b"1"), "sf"),
        (good(t=b""), "transaction id"),
        (good(t=b"123456789"), "transaction id"),
        (good(y="x"), "type"),
        (good(a={"k": KEY[:31]}), "author k"),
        (good(a={"k": KEY, "token": b"short"}), "token"),
        (good(a=[1]), "arguments"),
        (good(q="p" * 33), "method"),
        ({"sf": 1, "t": TID, "y": "r", "r": {"ttl": 0}}, "ttl"),
        ({"sf": 1, "t": TID, "y": "r", "r": {"ttl": wire.MAX_TTL + 1}}, "ttl"),
        ({"sf": 1, "t": TID, "y": "r", "r": {"hops": wire.MAX_HOPS + 1}}, "hops"),
        ({"sf": 1, "t": TID, "y": "r", "r": {"hops": -1}}, "hops"),
        ({"sf": 1, "t": TID, "y": "e", "e": []}, "error"),
        ({"sf": 1, "t": TID, "y": "e", "e": [b"x"]}, "error code"),
    ],
)
def test_malformed_messages_are_refused(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        wire.decode(bencoding.encode(raw))


def push_args(**changes: object) -> dict[str, object]:
    item = sign_item(SEED, HEAD, 4)
    args: dict[str, object] = {
        "hops": 0,
        "k": item.public_key,
        "seq": item.seq,
        "sig": item.signature,
        "v": {"ih": b"i" * 20, "n": 3},
    }
    args.update(changes)
    return args


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (push_args(hops=wire.MAX_HOPS + 1), "hops"),
        (push_args(hops=-1), "hops"),
        (push_args(seq=-1), "seq"),
        (push_args(seq=MAX_SEQ + 1), "64-bit"),  # bencoded integers are bounded (§9)
        (push_args(sig=b"s" * 63), "sig"),
        (push_args(k=b"k" * 33), "push k"),
        (push_args(salt=b"s" * (MAX_SALT_BYTES + 1)), "salt"),
        ({k: v for k, v in push_args().items() if k != "v"}, "without v"),
    ],
)
def test_malformed_pushes_are_refused(args: dict[str, object], reason: str) -> None:
    raw = {"sf": 1, "t": TID, "y": "q", "q": "push", "a": args}
    with pytest.raises(InvalidInput, match=reason):
        wire.decode(bencoding.encode(raw))


def test_a_forged_push_parses_but_does_not_verify() -> None:
    raw = {"sf": 1, "t": TID, "y": "q", "q": "push", "a": push_args(seq=5)}
    message = wire.decode(bencoding.encode(raw))
    assert isinstance(message, Push)
    with pytest.raises(InvalidInput, match="signature"):
        verify_item(message.item)


def test_oversized_and_non_canonical_datagrams_are_refused() -> None:
    padded = bencoding.encode(good(pad=b"x" * wire.MAX_MESSAGE_BYTES))
    with pytest.raises(TooLarge):
        wire.decode(padded)
    with pytest.raises(BencodeError):
        wire.decode(b"d2:sfi01e1:t1:a1:y1:qe")
    with pytest.raises(BencodeError):
        wire.decode(b"not bencode")
    with pytest.raises(BencodeError):
        wire.decode(b"li1ee")


def test_encoding_refuses_what_no_peer_could_parse() -> None:
    with pytest.raises(InvalidInput):
        wire.encode(Subscribe(b"", KEY))
    with pytest.raises(InvalidInput):
        wire.encode(Subscribe(TID, KEY, b"short"))
    with pytest.raises(InvalidInput):
        wire.encode(Reply(TID, ttl=0))
    with pytest.raises(InvalidInput):
        wire.encode(Push(TID, sign_item(SEED, HEAD, 1), wire.MAX_HOPS + 1))
    item = MutableItem(KEY, 1, bencoding.encode(b"x" * 1300), b"s" * 64)
    with pytest.raises(TooLarge):
        wire.encode(Push(TID, item, 0))


def test_error_text_is_bounded() -> None:
    data = wire.encode(ErrorMessage(TID, 240, "x" * 500))
    decoded = wire.decode(data)
    assert isinstance(decoded, ErrorMessage)
    assert len(decoded.text) == wire.MAX_ERROR_TEXT_BYTES


@given(st.binary(max_size=300))
def test_garbage_never_raises_anything_but_invalid_input(data: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        wire.decode(data)


def test_token_replies_are_smaller_than_the_subscription_that_asked() -> None:
    # No amplification: the reply to an unproven address is never larger than the request.
    request = wire.encode(Subscribe(b"\x00", KEY))
    reply = wire.encode(Reply(b"\x00", token=TOKEN))
    assert len(reply) < len(request)

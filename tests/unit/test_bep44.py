"""BEP 44 mutable items: the BEP's test vectors, signing, verification and refusals."""

from __future__ import annotations

import hashlib

import nacl.bindings as sodium
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import (
    MAX_VALUE_BYTES,
    MutableItem,
    sign_item,
    signable_bytes,
    target_id,
    verify_item,
)
from swarmfeed.errors import BencodeError, InvalidInput, InvalidSignature, TooLarge

# BEP 44 "Test vectors" (also libtorrent's test_dht.cpp signing_test1/2). The BEP gives the
# 64-byte *expanded* private key (clamped SHA-512 scalar + nonce prefix), not the seed.
VECTOR_PUBLIC_KEY = bytes.fromhex(
    "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"
)
VECTOR_EXPANDED_KEY = bytes.fromhex(
    "e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d"
    "b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d"
)
VECTOR_VALUE = b"12:Hello World!"
VECTOR_SALT = b"foobar"
VECTOR_SIG_NO_SALT = bytes.fromhex(
    "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff"
    "1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01"
)
VECTOR_SIG_SALT = bytes.fromhex(
    "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d"
    "df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08"
)
VECTOR_TARGET_NO_SALT = bytes.fromhex("4a533d47ec9c7d95b1ad75f576cffc641853b750")
VECTOR_TARGET_SALT = bytes.fromhex("411eba73b6f087ca51a3795d9c8c938d365e32c1")

SEED = bytes(range(32))


def sign_with_expanded_key(expanded: bytes, message: bytes) -> bytes:
    """Sign per RFC 8032 §5.1.6 with an expanded key (scalar + prefix), as libtorrent does."""
    scalar = sodium.crypto_core_ed25519_scalar_reduce(expanded[:32] + bytes(32))
    public = sodium.crypto_scalarmult_ed25519_base_noclamp(scalar)
    nonce = sodium.crypto_core_ed25519_scalar_reduce(
        hashlib.sha512(expanded[32:] + message).digest()
    )
    r_point = sodium.crypto_scalarmult_ed25519_base_noclamp(nonce)
    challenge = sodium.crypto_core_ed25519_scalar_reduce(
        hashlib.sha512(r_point + public + message).digest()
    )
    s = sodium.crypto_core_ed25519_scalar_add(
        nonce, sodium.crypto_core_ed25519_scalar_mul(challenge, scalar)
    )
    return bytes(r_point + s)


def vector_item(salt: bytes = b"") -> MutableItem:
    sig = VECTOR_SIG_SALT if salt else VECTOR_SIG_NO_SALT
    return MutableItem(VECTOR_PUBLIC_KEY, 1, VECTOR_VALUE, sig, salt)


def test_signable_bytes_match_the_vectors() -> None:
    assert signable_bytes(1, VECTOR_VALUE) == b"3:seqi1e1:v12:Hello World!"
    assert signable_bytes(1, VECTOR_VALUE, VECTOR_SALT) == (
        b"4:salt6:foobar3:seqi1e1:v12:Hello World!"
    )


def test_targets_match_the_vectors() -> None:
    assert target_id(VECTOR_PUBLIC_KEY) == VECTOR_TARGET_NO_SALT
    assert target_id(VECTOR_PUBLIC_KEY, VECTOR_SALT) == VECTOR_TARGET_SALT
    assert vector_item().target == VECTOR_TARGET_NO_SALT
    assert vector_item(VECTOR_SALT).target == VECTOR_TARGET_SALT


@pytest.mark.parametrize("salt", [b"", VECTOR_SALT])
def test_vector_items_verify(salt: bytes) -> None:
    verify_item(vector_item(salt))


@pytest.mark.parametrize(
    ("salt", "expected"), [(b"", VECTOR_SIG_NO_SALT), (VECTOR_SALT, VECTOR_SIG_SALT)]
)
def test_expanded_key_reproduces_the_vector_signatures(salt: bytes, expected: bytes) -> None:
    scalar = sodium.crypto_core_ed25519_scalar_reduce(VECTOR_EXPANDED_KEY[:32] + bytes(32))
    assert sodium.crypto_scalarmult_ed25519_base_noclamp(scalar) == VECTOR_PUBLIC_KEY
    signature = sign_with_expanded_key(VECTOR_EXPANDED_KEY, signable_bytes(1, VECTOR_VALUE, salt))
    assert signature == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": 2},
        {"value": b"12:Hello World?"},
        {"salt": b"foobaz"},
        {"signature": bytes(64)},
        {"signature": VECTOR_SIG_SALT},  # the salted signature without the salt
        {"public_key": bytes(range(32))},
    ],
)
def test_any_change_breaks_the_signature(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "public_key": VECTOR_PUBLIC_KEY,
        "seq": 1,
        "value": VECTOR_VALUE,
        "signature": VECTOR_SIG_NO_SALT,
        "salt": b"",
    } | changes
    with pytest.raises(InvalidSignature):
        verify_item(MutableItem(**fields))  # type: ignore[arg-type]


def test_sign_item_signs_what_verify_item_accepts() -> None:
    value = bencoding.encode({"ih": bytes(20), "n": 3})
    item = sign_item(SEED, value, 5)
    assert item.seq == 5
    assert item.value == value
    assert item.salt == b""
    assert len(item.signature) == 64
    verify_item(item)
    assert sign_item(SEED, value, 5) == item  # ed25519 is deterministic


@given(
    seq=st.integers(min_value=0, max_value=(1 << 63) - 1),
    text=st.binary(max_size=200),
    salt=st.binary(max_size=64),
)
def test_round_trip(seq: int, text: bytes, salt: bytes) -> None:
    item = sign_item(SEED, bencoding.encode(text), seq, salt)
    verify_item(item)
    stored = bencoding.encode(item.to_bencodable())
    assert MutableItem.from_bencodable(bencoding.decode(stored)) == item


def test_value_size_limit() -> None:
    exactly = b"996:" + b"x" * 996
    assert len(exactly) == MAX_VALUE_BYTES
    verify_item(sign_item(SEED, exactly, 1))
    too_big = b"997:" + b"x" * 997
    with pytest.raises(TooLarge):
        sign_item(SEED, too_big, 1)
    with pytest.raises(TooLarge):
        verify_item(MutableItem(VECTOR_PUBLIC_KEY, 1, too_big, bytes(64)))


@pytest.mark.parametrize("value", [b"", b"i01e", b"d1:bi1e1:ai1ee", b"3:abcX", b"5:abc", b"x"])
def test_non_canonical_values_are_refused(value: bytes) -> None:
    with pytest.raises(BencodeError):
        sign_item(SEED, value, 1)
    with pytest.raises(InvalidInput):
        verify_item(MutableItem(VECTOR_PUBLIC_KEY, 1, value, bytes(64)))


def test_salt_seq_and_seed_limits() -> None:
    verify_item(sign_item(SEED, VECTOR_VALUE, 1, b"s" * 64))
    with pytest.raises(InvalidInput):
        sign_item(SEED, VECTOR_VALUE, 1, b"s" * 65)
    with pytest.raises(InvalidInput):
        sign_item(SEED, VECTOR_VALUE, -1)
    with pytest.raises(InvalidInput):
        sign_item(SEED, VECTOR_VALUE, 1 << 63)
    with pytest.raises(InvalidInput):
        sign_item(SEED[:31], VECTOR_VALUE, 1)
    with pytest.raises(InvalidInput):
        verify_item(MutableItem(VECTOR_PUBLIC_KEY[:31], 1, VECTOR_VALUE, VECTOR_SIG_NO_SALT))
    with pytest.raises(InvalidSignature):
        verify_item(MutableItem(VECTOR_PUBLIC_KEY, 1, VECTOR_VALUE, VECTOR_SIG_NO_SALT[:63]))


def test_on_disk_form() -> None:
    item = vector_item(VECTOR_SALT)
    stored = bencoding.encode(item.to_bencodable())
    assert stored == (
        b"d1:k32:"
        + VECTOR_PUBLIC_KEY
        + b"4:salt6:foobar3:seqi1e3:sig64:"
        + VECTOR_SIG_SALT
        + b"1:v15:12:Hello World!e"
    )
    assert MutableItem.from_bencodable(bencoding.decode(stored)) == item
    # str keys work too, and a missing salt means no salt.
    plain = {"k": VECTOR_PUBLIC_KEY, "seq": 1, "sig": VECTOR_SIG_NO_SALT, "v": VECTOR_VALUE}
    assert MutableItem.from_bencodable(plain) == vector_item()


@pytest.mark.parametrize(
    "broken",
    [
        [],
        {b"seq": 1, b"sig": VECTOR_SIG_NO_SALT, b"v": VECTOR_VALUE},
        {b"k": b"short", b"seq": 1, b"sig": VECTOR_SIG_NO_SALT, b"v": VECTOR_VALUE},
        {b"k": VECTOR_PUBLIC_KEY, b"seq": -1, b"sig": VECTOR_SIG_NO_SALT, b"v": VECTOR_VALUE},
        {b"k": VECTOR_PUBLIC_KEY, b"seq": 1, b"sig": b"x", b"v": VECTOR_VALUE},
        {b"k": VECTOR_PUBLIC_KEY, b"seq": 1, b"sig": VECTOR_SIG_NO_SALT, b"v": 5},
        {b"k": VECTOR_PUBLIC_KEY, b"salt": 3, b"seq": 1, b"sig": VECTOR_SIG_NO_SALT, b"v": b"0:"},
    ],
)
def test_malformed_on_disk_items_are_refused(broken: object) -> None:
    with pytest.raises(BencodeError):
        MutableItem.from_bencodable(broken)

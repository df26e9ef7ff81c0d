"""Key pairs, signatures, libtorrent's key format and author addresses (protocol.md §2)."""

from __future__ import annotations

import hashlib

import nacl.bindings
import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.identity import (
    KeyPair,
    author_address,
    format_key,
    libtorrent_secret_key,
    parse_author,
    verify_signature,
)
from swarmfeed.errors import InvalidInput, InvalidSignature

# RFC 8032 §7.1, test 1 and test 2.
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIG = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
RFC2_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC2_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC2_SIG = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)
HEX = RFC_PUBLIC.hex()


def test_rfc8032_vectors() -> None:
    keys = KeyPair.from_seed(RFC_SEED)
    assert keys.public_key == RFC_PUBLIC
    assert keys.sign(b"") == RFC_SIG
    verify_signature(RFC_PUBLIC, b"", RFC_SIG)
    keys2 = KeyPair.from_seed(RFC2_SEED)
    assert keys2.public_key == RFC2_PUBLIC
    assert keys2.sign(b"\x72") == RFC2_SIG


def test_generate_gives_distinct_consistent_keys() -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    assert a != b
    assert (len(a.seed), len(a.public_key)) == (32, 32)
    assert KeyPair.from_seed(a.seed) == a


def test_seed_is_not_in_repr() -> None:
    keys = KeyPair.from_seed(RFC_SEED)
    assert RFC_SEED.hex() not in repr(keys)
    assert repr(RFC_SEED) not in repr(keys)


def test_key_pair_checks_its_fields() -> None:
    with pytest.raises(InvalidInput):
        KeyPair.from_seed(b"short")
    with pytest.raises(InvalidInput):
        KeyPair(RFC_SEED, RFC_PUBLIC[:31])
    with pytest.raises(InvalidInput, match="belong"):
        KeyPair(RFC_SEED, RFC2_PUBLIC)
    with pytest.raises(AttributeError):
        KeyPair.from_seed(RFC_SEED).seed = RFC2_SEED  # type: ignore[misc]


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=199))
def test_any_flipped_bit_breaks_the_signature(message: bytes, index: int) -> None:
    keys = KeyPair.from_seed(RFC_SEED)
    signature = keys.sign(message)
    verify_signature(keys.public_key, message, signature)
    bit = 1 << (index % 8)
    bad_sig = bytearray(signature)
    bad_sig[index % 64] ^= bit
    with pytest.raises(InvalidSignature):
        verify_signature(keys.public_key, message, bytes(bad_sig))
    if message:
        bad_msg = bytearray(message)
        bad_msg[index % len(message)] ^= bit
        with pytest.raises(InvalidSignature):
            verify_signature(keys.public_key, bytes(bad_msg), signature)


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [
        (RFC_PUBLIC[:31], RFC_SIG),
        (RFC_PUBLIC + b"\x00", RFC_SIG),
        (RFC_PUBLIC, RFC_SIG[:63]),
        (RFC_PUBLIC, RFC_SIG + b"\x00"),
        (RFC2_PUBLIC, RFC_SIG),
        (b"\x00" * 32, RFC_SIG),
        (b"\xff" * 32, RFC_SIG),
        (RFC_PUBLIC, b"\x00" * 64),
        (RFC_PUBLIC, b"\xff" * 64),
        ("not bytes", RFC_SIG),
    ],
)
def test_verify_refuses_bad_keys_and_signatures(public_key: bytes, signature: bytes) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(public_key, b"", signature)


def test_libtorrent_secret_key() -> None:
    expanded = libtorrent_secret_key(RFC_SEED)
    digest = bytearray(hashlib.sha512(RFC_SEED).digest())
    assert len(expanded) == 64
    assert expanded[32:] == bytes(digest[32:])
    assert expanded[0] == digest[0] & 248
    assert expanded[31] == (digest[31] & 63) | 64
    assert expanded[1:31] == bytes(digest[1:31])
    # The clamped scalar times the base point is the public key (RFC 8032 §5.1.5).
    scalar = bytes(expanded[:32])
    assert nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(scalar) == RFC_PUBLIC
    with pytest.raises(InvalidInput):
        libtorrent_secret_key(RFC_SEED[:31])


def test_author_address_and_format_key() -> None:
    assert format_key(RFC_PUBLIC) == HEX
    assert author_address(RFC_PUBLIC) == f"magnet:?xs=urn:btpk:{HEX}"
    with pytest.raises(InvalidInput):
        format_key(b"\x01" * 31)


@pytest.mark.parametrize(
    "text",
    [
        HEX,
        HEX.upper(),
        f"  {HEX}\n",
        f"magnet:?xs=urn:btpk:{HEX}",
        f"MAGNET:?XS=URN:BTPK:{HEX.upper()}",
        f"\tmagnet:?xs=urn:btpk:{HEX} ",
        f"magnet:?xs=urn:btpk:{HEX}&s=",
        f"magnet:?s=&xs=urn:btpk:{HEX}",
        f"magnet:?xs=urn:btpk:{HEX}&dn=alice",
    ],
)
def test_parse_author_accepts(text: str) -> None:
    assert parse_author(text) == RFC_PUBLIC


@given(st.binary(min_size=32, max_size=32))
def test_parse_author_round_trip(public_key: bytes) -> None:
    assert parse_author(author_address(public_key)) == public_key
    assert parse_author(format_key(public_key)) == public_key


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "64 hex digits"),
        (HEX[:-1], "got 63"),
        (HEX + "0", "got 65"),
        (HEX[:-1] + "g", "magnet"),
        (f"{HEX[:32]} {HEX[32:]}", "magnet"),
        (f"magnet:?xs=urn:btpk:{HEX}&s=00", "salt"),
        (f"magnet:?xs=urn:btpk:{HEX}&s=73616c74", "salt"),
        (f"magnet:?xs=urn:btpk:{HEX[:-2]}", "64 hex"),
        (f"magnet:?xs=urn:btpk:{HEX[:-1]}z", "64 hex"),
        (f"magnet:?xt=urn:btih:{'a' * 40}", "btpk"),
        (f"magnet:?xs=urn:btpk:{HEX}&xt=urn:btih:{'a' * 40}", "torrent"),
        (f"http://example.com/?xs=urn:btpk:{HEX}", "magnet"),
        (f"btpk:{HEX}", "magnet"),
        ("magnet:?", "no btih"),
    ],
)
def test_parse_author_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_author(text)
    assert reason in str(info.value)


def test_signatures_match_pynacl() -> None:
    keys = KeyPair.generate()
    message = b"swarmfeed"
    expected = nacl.signing.SigningKey(keys.seed).sign(message).signature
    assert keys.sign(message) == expected

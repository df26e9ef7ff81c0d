"""Canonical bencoding: round trips, non-canonical and oversized input (protocol.md §1)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge

values: st.SearchStrategy[Any] = st.recursive(
    st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1) | st.binary(max_size=40),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.binary(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def nested_lists(levels: int) -> bytes:
    return b"l" * levels + b"e" * levels


@given(values)
def test_round_trip(value: Any) -> None:
    encoded = bencoding.encode(value)
    assert bencoding.decode(encoded) == value
    assert bencoding.encode(bencoding.decode(encoded)) == encoded


@given(
    st.dictionaries(
        st.binary(min_size=1, max_size=6), st.integers(-1000, 1000), min_size=2, max_size=6
    )
)
def test_any_other_key_order_is_rejected(value: dict[bytes, int]) -> None:
    items = sorted(value.items(), reverse=True)
    body = b"".join(bencoding.encode(k) + bencoding.encode(v) for k, v in items)
    with pytest.raises(BencodeError, match="unsorted"):
        bencoding.decode(b"d" + body + b"e")


@given(values, st.binary(min_size=1, max_size=8))
def test_trailing_bytes_are_rejected(value: Any, tail: bytes) -> None:
    with pytest.raises(BencodeError):
        bencoding.decode(bencoding.encode(value) + tail)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"i0e"),
        (-7, b"i-7e"),
        (2**70, b"i1180591620717411303424e"),
        (b"", b"0:"),
        (b"spam", b"4:spam"),
        ("héllo", "6:héllo".encode()),
        ([1, b"a", []], b"li1e1:alee"),
        ((1, 2), b"li1ei2ee"),
        ({"b": 1, "a": 2}, b"d1:ai2e1:bi1ee"),
        ({b"\xff": 1, b"a": 2, "Z": 3}, b"d1:Zi3e1:ai2e1:\xffi1ee"),
        (bytearray(b"xy"), b"2:xy"),
        (memoryview(b"xy"), b"2:xy"),
    ],
)
def test_known_encodings(value: Any, encoded: bytes) -> None:
    assert bencoding.encode(value) == encoded


@pytest.mark.parametrize(
    "value",
    [True, False, 1.5, None, {1: 2}, {"a": 1, b"a": 2}, {"k": {1}}, object()],
)
def test_encode_refuses_what_has_no_canonical_bencoding(value: Any) -> None:
    with pytest.raises(BencodeError):
        bencoding.encode(value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"i",
        b"ie",
        b"i-e",
        b"i01e",
        b"i-0e",
        b"i-01e",
        b"i00e",
        b"i+1e",
        b"i1.0e",
        b"i 1e",
        b"i--1e",
        b"i12",
        b"01:a",
        b"00:",
        b"-1:a",
        b"2:a",
        b"5",
        b"1234567890123:a",
        b"l",
        b"li1e",
        b"d",
        b"d1:a",
        b"d1:ai1e",
        b"di1ei1ee",
        b"dli1eei1ee",
        b"d1:bi1e1:ai2ee",
        b"d1:ai1e1:ai2ee",
        b"e",
        b"x",
        b"i1ei2e",
        b"4:spam ",
        b"le\x00",
    ],
)
def test_decode_rejects_malformed_and_non_canonical(data: bytes) -> None:
    with pytest.raises(BencodeError):
        bencoding.decode(data)


def test_bencode_error_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        bencoding.decode(b"i01e")


@pytest.mark.parametrize("digits", ["9223372036854775808", "-9223372036854775809", "1" * 20])
def test_integers_beyond_64_bits_are_refused(digits: str) -> None:
    with pytest.raises(BencodeError, match="64-bit"):
        bencoding.decode(f"i{digits}e".encode())
    assert bencoding.decode(b"i9223372036854775807e") == (1 << 63) - 1
    assert bencoding.decode(b"i-9223372036854775808e") == -(1 << 63)


def test_huge_integer_is_a_bencode_error_not_a_bare_value_error() -> None:
    with pytest.raises(BencodeError, match="64-bit"):
        bencoding.decode(b"i" + b"9" * 5000 + b"e")


def test_nesting_limit_is_32_levels() -> None:
    assert bencoding.decode(nested_lists(32)) is not None
    assert bencoding.decode(b"l" * 32 + b"i1e" + b"e" * 32) is not None
    with pytest.raises(BencodeError, match="nested"):
        bencoding.decode(nested_lists(33))
    with pytest.raises(BencodeError, match="nested"):
        bencoding.decode(b"d1:a" * 33 + b"i1e" + b"e" * 33)
    with pytest.raises(BencodeError, match="nested"):
        bencoding.decode(nested_lists(3), max_depth=2)
    deep: Any = 1
    for _ in range(32):
        deep = [deep]
    assert bencoding.decode(bencoding.encode(deep)) == deep
    with pytest.raises(BencodeError, match="nested"):
        bencoding.encode([deep])


def test_very_deep_input_fails_cleanly() -> None:
    with pytest.raises(BencodeError):
        bencoding.decode(nested_lists(100_000))


def test_max_size() -> None:
    assert bencoding.decode(b"4:spam", max_size=6) == b"spam"
    with pytest.raises(TooLarge):
        bencoding.decode(b"4:spam", max_size=5)


def test_decode_accepts_bytes_likes_and_refuses_text() -> None:
    assert bencoding.decode(bytearray(b"i3e")) == 3  # type: ignore[arg-type]
    assert bencoding.decode(memoryview(b"i3e")) == 3  # type: ignore[arg-type]
    with pytest.raises(BencodeError):
        bencoding.decode("i3e")  # type: ignore[arg-type]


def test_decoded_strings_and_keys_are_bytes() -> None:
    assert bencoding.decode(b"d3:key5:valuee") == {b"key": b"value"}


def test_text_helper() -> None:
    assert bencoding.text("é".encode(), "f") == "é"
    with pytest.raises(BencodeError, match="f must be a string"):
        bencoding.text(1, "f")
    with pytest.raises(BencodeError, match="UTF-8"):
        bencoding.text(b"\xff", "f")
    with pytest.raises(BencodeError, match="UTF-8"):
        bencoding.text(b"\xed\xa0\x80", "f")  # an encoded surrogate
    with pytest.raises(TooLarge):
        bencoding.text(b"abc", "f", max_bytes=2)
    assert bencoding.text(b"ab", "f", max_bytes=2) == "ab"


def test_binary_helper() -> None:
    assert bencoding.binary(b"ab", "f", length=2) == b"ab"
    with pytest.raises(BencodeError, match="2 bytes"):
        bencoding.binary(b"a", "f", length=2)
    with pytest.raises(BencodeError):
        bencoding.binary("ab", "f")


def test_integer_helper() -> None:
    assert bencoding.integer(5, "f", minimum=5) == 5
    with pytest.raises(BencodeError, match="at least"):
        bencoding.integer(4, "f", minimum=5)
    with pytest.raises(BencodeError):
        bencoding.integer(True, "f")
    with pytest.raises(BencodeError):
        bencoding.integer(b"1", "f")


def test_dictionary_helper() -> None:
    assert bencoding.dictionary({}, "f") == {}
    with pytest.raises(BencodeError, match="dictionary"):
        bencoding.dictionary([], "f")

"""Canonical bencoding (BEP 3) with a strict, size- and depth-limited decoder.

Signatures cover bencoded bytes, so one value must have exactly one encoding: the decoder
rejects unsorted or duplicate keys, leading zeros, ``-0`` and trailing bytes (protocol.md §1).
"""

from __future__ import annotations

from typing import Any

import bencodepy

from swarmfeed.errors import BencodeError, TooLarge

MAX_DEPTH = 32
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

Bencodable = int | bytes | str | list[Any] | tuple[Any, ...] | dict[Any, Any]


def encode(value: Any) -> bytes:
    """Return the canonical bencoding of ``value`` (str is encoded as UTF-8 bytes)."""
    return bytes(bencodepy.encode(_normalize(value, 0)))


def _normalize(value: Any, depth: int) -> Any:
    """Return ``value`` with str turned into UTF-8 bytes, refusing what has no bencoding.

    bencode.py sorts dictionary keys itself; this makes keys uniform bytes so the sort is the
    raw byte order BEP 3 requires, and refuses duplicates that str/bytes keys could create.
    """
    if isinstance(value, list | tuple | dict) and depth >= MAX_DEPTH:
        raise BencodeError(f"value nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool):
        raise BencodeError("booleans have no bencoding")
    if isinstance(value, int | bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list | tuple):
        return [_normalize(item, depth + 1) for item in value]
    if isinstance(value, dict):
        result: dict[bytes, Any] = {}
        for key, item in value.items():
            raw_key = key.encode("utf-8") if isinstance(key, str) else key
            if not isinstance(raw_key, bytes):
                raise BencodeError(f"dictionary key {key!r} is not a string")
            if raw_key in result:
                raise BencodeError(f"duplicate dictionary key {raw_key!r}")
            result[raw_key] = _normalize(item, depth + 1)
        return result
    raise BencodeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes, *, max_size: int | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """Decode canonical bencoding; dict keys come back as bytes, strings as bytes.

    Raises BencodeError for anything that is not exactly one canonical value and TooLarge when
    ``data`` is longer than ``max_size``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BencodeError("bencoded data must be bytes")
    data = bytes(data)
    if max_size is not None and len(data) > max_size:
        raise TooLarge(f"bencoded data is {len(data)} bytes, the limit is {max_size}")
    value, end = _Decoder(data, max_depth).value(0, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} trailing bytes after the bencoded value")
    return value


class _Decoder:
    def __init__(self, data: bytes, max_depth: int) -> None:
        self.data = data
        self.max_depth = max_depth

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        # ``depth`` counts the lists and dicts around this value; a container adds a level.
        if pos >= len(self.data):
            raise BencodeError("bencoded data ends early")
        lead = self.data[pos : pos + 1]
        if lead == b"i":
            return self.integer(pos)
        if lead in (b"l", b"d"):
            if depth >= self.max_depth:
                raise BencodeError(f"bencoding nested deeper than {self.max_depth} levels")
            if lead == b"l":
                return self.sequence(pos, depth)
            return self.dictionary(pos, depth)
        if lead.isdigit():
            return self.string(pos)
        raise BencodeError(f"unexpected byte {lead!r} at offset {pos}")

    def integer(self, pos: int) -> tuple[int, int]:
        end = self.data.find(b"e", pos + 1)
        if end < 0:
            raise BencodeError("unterminated integer")
        digits = self.data[pos + 1 : end]
        body = digits[1:] if digits.startswith(b"-") else digits
        if not body or not body.isdigit():
            raise BencodeError(f"malformed integer at offset {pos}")
        if (body.startswith(b"0") and len(body) > 1) or digits == b"-0":
            raise BencodeError(f"non-canonical integer at offset {pos}")
        # Every integer swarmfeed and BitTorrent use fits in 64 bits (BEP 44 seq, file lengths);
        # anything longer is refused before it is converted.
        if len(body) > 19:
            raise BencodeError(f"integer at offset {pos} is outside the 64-bit range")
        value = int(digits)
        if not INT64_MIN <= value <= INT64_MAX:
            raise BencodeError(f"integer at offset {pos} is outside the 64-bit range")
        return value, end + 1

    def string(self, pos: int) -> tuple[bytes, int]:
        colon = self.data.find(b":", pos)
        if colon < 0 or colon - pos > 12:
            raise BencodeError(f"malformed string length at offset {pos}")
        digits = self.data[pos:colon]
        if not digits.isdigit() or (digits.startswith(b"0") and len(digits) > 1):
            raise BencodeError(f"non-canonical string length at offset {pos}")
        length = int(digits)
        start = colon + 1
        if start + length > len(self.data):
            raise BencodeError("string runs past the end of the data")
        return self.data[start : start + length], start + length

    def sequence(self, pos: int, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        pos += 1
        while True:
            if pos >= len(self.data):
                raise BencodeError("unterminated list")
            if self.data[pos : pos + 1] == b"e":
                return items, pos + 1
            item, pos = self.value(pos, depth + 1)
            items.append(item)

    def dictionary(self, pos: int, depth: int) -> tuple[dict[bytes, Any], int]:
        result: dict[bytes, Any] = {}
        previous: bytes | None = None
        pos += 1
        while True:
            if pos >= len(self.data):
                raise BencodeError("unterminated dictionary")
            if self.data[pos : pos + 1] == b"e":
                return result, pos + 1
            if not self.data[pos : pos + 1].isdigit():
                raise BencodeError(f"dictionary key at offset {pos} is not a string")
            key, pos = self.string(pos)
            if previous is not None and key <= previous:
                raise BencodeError(f"dictionary keys unsorted or duplicated at {key!r}")
            previous = key
            result[key], pos = self.value(pos, depth + 1)


def text(value: Any, field: str, *, max_bytes: int | None = None) -> str:
    """Return ``value`` (decoded bytes) as UTF-8 text or raise BencodeError naming ``field``."""
    if not isinstance(value, bytes):
        raise BencodeError(f"{field} must be a string")
    if max_bytes is not None and len(value) > max_bytes:
        raise TooLarge(f"{field} is {len(value)} bytes, the limit is {max_bytes}")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BencodeError(f"{field} is not valid UTF-8") from exc


def binary(value: Any, field: str, *, length: int | None = None) -> bytes:
    """Return ``value`` as bytes of exactly ``length`` (if given) or raise BencodeError."""
    if not isinstance(value, bytes):
        raise BencodeError(f"{field} must be a byte string")
    if length is not None and len(value) != length:
        raise BencodeError(f"{field} must be {length} bytes, got {len(value)}")
    return value


def integer(
    value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int (not bool) within [``minimum``, ``maximum``] or raise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise BencodeError(f"{field} must be an integer")
    if minimum is not None and value < minimum:
        raise BencodeError(f"{field} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise BencodeError(f"{field} must be at most {maximum}, got {value}")
    return value


def dictionary(value: Any, field: str) -> dict[bytes, Any]:
    """Return ``value`` as a decoded dict or raise BencodeError naming ``field``."""
    if not isinstance(value, dict):
        raise BencodeError(f"{field} must be a dictionary")
    return value

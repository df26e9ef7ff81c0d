"""Magnet links: torrents (BEP 9, BEP 52) and authors (BEP 46), protocol.md §8."""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from dataclasses import dataclass
from typing import TypeVar

from swarmfeed.errors import InvalidInput

_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BASE32 = re.compile(r"[A-Za-z2-7]{32}")
_HEX_ANY = re.compile(r"(?:[0-9a-fA-F]{2})*")
# BEP 52: multihash of a v2 infohash = 0x12 (sha2-256) 0x20 (32 bytes) + digest.
_SHA256_MULTIHASH = "1220"

T = TypeVar("T")


@dataclass(frozen=True)
class Magnet:
    """What swarmfeed reads from a magnet link."""

    infohash: bytes | None = None
    infohash_v2: bytes | None = None
    public_key: bytes | None = None
    salt: bytes = b""
    name: str | None = None


def parse_magnet(uri: str) -> Magnet:
    """Parse a magnet link with a btih/btmh (BEP 9/52) or btpk (BEP 46) or raise InvalidInput."""
    if not isinstance(uri, str):
        raise InvalidInput("a magnet link must be text")
    try:
        parts = urllib.parse.urlsplit(uri.strip())
    except ValueError as exc:
        raise InvalidInput(f"malformed magnet link: {exc}") from exc
    if parts.scheme.lower() != "magnet" or parts.netloc or parts.path:
        raise InvalidInput("not a magnet link (expected 'magnet:?...')")
    try:
        params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed magnet link: {exc}") from exc
    infohash: bytes | None = None
    infohash_v2: bytes | None = None
    public_key: bytes | None = None
    salt: bytes | None = None
    name: str | None = None
    for key, value in params:
        key = key.lower()
        if key == "xt":
            urn = value.lower()
            if urn.startswith("urn:btih:"):
                infohash = _same(infohash, _btih(value[9:]), "btih")
            elif urn.startswith("urn:btmh:"):
                infohash_v2 = _same(infohash_v2, _btmh(value[9:]), "btmh")
        elif key == "xs" and value.lower().startswith("urn:btpk:"):
            digits = value[9:]
            if not _HEX64.fullmatch(digits):
                raise InvalidInput("btpk public key must be 64 hex digits")
            public_key = _same(public_key, bytes.fromhex(digits), "btpk")
        elif key == "s":
            # BEP 46: the salt is hex-encoded.
            if not _HEX_ANY.fullmatch(value):
                raise InvalidInput("magnet salt 's' must be hex digits")
            salt = _same(salt, bytes.fromhex(value), "s")
        elif key == "dn" and name is None:
            name = value
    if infohash is None and infohash_v2 is None and public_key is None:
        raise InvalidInput("magnet link has no btih, btmh or btpk")
    return Magnet(infohash, infohash_v2, public_key, salt or b"", name)


def torrent_magnet(infohash: bytes, infohash_v2: bytes | None, name: str | None) -> str:
    """Return the magnet link of a torrent (protocol.md §8), with both hashes when hybrid."""
    if len(infohash) != 20:
        raise InvalidInput(f"v1 infohash must be 20 bytes, got {len(infohash)}")
    params = [f"xt=urn:btih:{infohash.hex()}"]
    if infohash_v2 is not None:
        if len(infohash_v2) != 32:
            raise InvalidInput(f"v2 infohash must be 32 bytes, got {len(infohash_v2)}")
        params.append(f"xt=urn:btmh:{_SHA256_MULTIHASH}{infohash_v2.hex()}")
    if name is not None:
        params.append(f"dn={urllib.parse.quote(name, safe='')}")
    return "magnet:?" + "&".join(params)


def _btih(text: str) -> bytes:
    """Decode a BEP 9 v1 infohash: 40 hex digits or 32 base32 characters."""
    if _HEX40.fullmatch(text):
        return bytes.fromhex(text)
    if _BASE32.fullmatch(text):
        try:
            return base64.b32decode(text.upper())
        except binascii.Error as exc:  # pragma: no cover - the regex admits only valid base32
            raise InvalidInput("btih is not valid base32") from exc
    raise InvalidInput("btih must be 40 hex digits or 32 base32 characters")


def _btmh(text: str) -> bytes:
    """Decode a BEP 52 v2 infohash given as a sha2-256 multihash in hex."""
    if not text.lower().startswith(_SHA256_MULTIHASH):
        raise InvalidInput("btmh must be a sha2-256 multihash (prefix 1220)")
    digits = text[len(_SHA256_MULTIHASH) :]
    if not _HEX64.fullmatch(digits):
        raise InvalidInput("btmh digest must be 64 hex digits")
    return bytes.fromhex(digits)


def _same(known: T | None, new: T, what: str) -> T:
    """Return ``new`` unless a different value for ``what`` was already given."""
    if known is not None and known != new:
        raise InvalidInput(f"magnet link has conflicting {what} values")
    return new

"""Magnet links: torrents (BEP 9, BEP 52) and authors (BEP 46), protocol.md §8."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from swarmfeed.errors import InvalidInput

_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BASE32 = re.compile(r"[A-Za-z2-7]{32}")
_HEX_ANY = re.compile(r"(?:[0-9a-fA-F]{2})*")
# BEP 52: multihash of a v2 infohash = 0x12 (sha2-256) 0x20 (32 bytes) + digest.
_SHA256_MULTIHASH = "1220"
MAX_PEER_HINTS = 16
"""At most this many ``x.pe`` peer addresses are read from one magnet link."""

T = TypeVar("T")


@dataclass(frozen=True)
class Magnet:
    """What swarmfeed reads from a magnet link."""

    infohash: bytes | None = None
    infohash_v2: bytes | None = None
    public_key: bytes | None = None
    salt: bytes = b""
    name: str | None = None
    peers: tuple[tuple[str, int], ...] = ()
    """Peer addresses from ``x.pe`` (BEP 9): where to ask for the torrent first."""


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
    peers: list[tuple[str, int]] = []
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
        elif key == "x.pe" and len(peers) < MAX_PEER_HINTS:
            # A hint only: one that does not parse is left out, as BitTorrent clients do.
            peer = parse_peer_address(value)
            if peer is not None and peer not in peers:
                peers.append(peer)
    if infohash is None and infohash_v2 is None and public_key is None:
        raise InvalidInput("magnet link has no btih, btmh or btpk")
    return Magnet(infohash, infohash_v2, public_key, salt or b"", name, tuple(peers))


def format_peer_address(host: str, port: int) -> str:
    """Return a peer address as BEP 9's ``x.pe`` writes it: ``1.2.3.4:6881``, ``[::1]:6881``."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as exc:
        raise InvalidInput(f"a peer address needs an IP address, not {host!r}") from exc
    if not 0 < port < 65536:
        raise InvalidInput(f"port {port} is out of range")
    return f"[{ip.compressed}]:{port}" if ip.version == 6 else f"{ip.compressed}:{port}"


def parse_peer_address(text: str) -> tuple[str, int] | None:
    """Return ``(ip, port)`` of an ``x.pe`` value (``ip:port`` or ``[ipv6]:port``), or None."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or len(port) > 5:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    number = int(port)
    return (ip.compressed, number) if 0 < number < 65536 else None


def torrent_magnet(
    infohash: bytes,
    infohash_v2: bytes | None,
    name: str | None,
    peers: Sequence[tuple[str, int]] = (),
) -> str:
    """Return the magnet link of a torrent (protocol.md §8), with both hashes when hybrid.

    ``peers`` become ``x.pe`` hints (BEP 9): addresses where this torrent is served, so a client
    can connect at once instead of waiting for the DHT.
    """
    if len(infohash) != 20:
        raise InvalidInput(f"v1 infohash must be 20 bytes, got {len(infohash)}")
    params = [f"xt=urn:btih:{infohash.hex()}"]
    if infohash_v2 is not None:
        if len(infohash_v2) != 32:
            raise InvalidInput(f"v2 infohash must be 32 bytes, got {len(infohash_v2)}")
        params.append(f"xt=urn:btmh:{_SHA256_MULTIHASH}{infohash_v2.hex()}")
    if name is not None:
        params.append(f"dn={urllib.parse.quote(name, safe='')}")
    for host, port in peers[:MAX_PEER_HINTS]:
        params.append(f"x.pe={urllib.parse.quote(format_peer_address(host, port), safe=':')}")
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

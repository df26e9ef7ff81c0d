"""Ed25519 identities (RFC 8032), libtorrent's key format and author addresses (protocol.md §2)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

from swarmfeed.core.magnet import parse_magnet
from swarmfeed.errors import InvalidInput, InvalidSignature

KEY_BYTES = 32
SIGNATURE_BYTES = 64

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX_ANY = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class KeyPair:
    """An author's ed25519 key pair; the seed is the secret, the public key the identity."""

    seed: bytes = field(repr=False)
    public_key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or not isinstance(self.public_key, bytes):
            raise InvalidInput("an ed25519 seed and public key are bytes")
        if len(self.seed) != KEY_BYTES or len(self.public_key) != KEY_BYTES:
            raise InvalidInput("an ed25519 seed and public key are 32 bytes each")
        derived = bytes(nacl.signing.SigningKey(self.seed).verify_key)
        if derived != self.public_key:
            raise InvalidInput("public key does not belong to the seed")

    @classmethod
    def generate(cls) -> KeyPair:
        """Return a new random key pair."""
        return cls.from_seed(bytes(nacl.signing.SigningKey.generate()))

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """Return the key pair of a 32-byte seed."""
        if not isinstance(seed, bytes) or len(seed) != KEY_BYTES:
            raise InvalidInput("an ed25519 seed is 32 bytes")
        return cls(seed, bytes(nacl.signing.SigningKey(seed).verify_key))

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte detached ed25519 signature of ``message``."""
        return bytes(nacl.signing.SigningKey(self.seed).sign(message).signature)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise InvalidSignature unless ``signature`` is ``public_key``'s signature of ``message``."""
    if not isinstance(public_key, bytes) or len(public_key) != KEY_BYTES:
        raise InvalidSignature("public key must be 32 bytes")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise InvalidSignature("signature must be 64 bytes")
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise InvalidSignature("signature does not verify") from exc


def libtorrent_secret_key(seed: bytes) -> bytes:
    """Return libtorrent's 64-byte expanded ed25519 secret key for ``seed`` (RFC 8032 §5.1.5)."""
    if not isinstance(seed, bytes) or len(seed) != KEY_BYTES:
        raise InvalidInput("an ed25519 seed is 32 bytes")
    expanded = bytearray(hashlib.sha512(seed).digest())
    expanded[0] &= 248
    expanded[31] &= 63
    expanded[31] |= 64
    return bytes(expanded)


def format_key(public_key: bytes) -> str:
    """Return ``public_key`` as 64 lowercase hex digits."""
    if len(public_key) != KEY_BYTES:
        raise InvalidInput("a public key is 32 bytes")
    return public_key.hex()


def short_key(hex_key: str) -> str:
    """Return the first and last hex digits of a key, enough to tell authors apart."""
    return f"{hex_key[:8]}…{hex_key[-4:]}"


def author_address(public_key: bytes) -> str:
    """Return the author address: a BEP 46 magnet link with an empty salt (protocol.md §2)."""
    return f"magnet:?xs=urn:btpk:{format_key(public_key)}"


def parse_author(text: str) -> bytes:
    """Return the public key in an author address or bare 64 hex digits, else raise InvalidInput."""
    if not isinstance(text, str):
        raise InvalidInput("an author must be given as text")
    cleaned = text.strip()
    if _HEX64.fullmatch(cleaned):
        return bytes.fromhex(cleaned)
    if not cleaned.lower().startswith("magnet:"):
        if _HEX_ANY.fullmatch(cleaned):
            raise InvalidInput(f"an author key is 64 hex digits, got {len(cleaned)}")
        raise InvalidInput("an author is a magnet:?xs=urn:btpk:<64 hex> link or 64 hex digits")
    magnet = parse_magnet(cleaned)
    if magnet.public_key is None:
        raise InvalidInput("magnet link has no xs=urn:btpk: author key")
    if magnet.infohash is not None or magnet.infohash_v2 is not None:
        raise InvalidInput("magnet link names a torrent, not an author")
    if magnet.salt:
        # protocol.md §2: swarmfeed feeds always use the empty salt.
        raise InvalidInput("author addresses have an empty salt; this link has s=<non-empty>")
    return magnet.public_key

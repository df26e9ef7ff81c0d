"""BEP 44 mutable items: the signed bytes, signing, verification and the DHT target.

A mutable item is an ed25519 public key ``k``, an optional ``salt``, a sequence number
``seq`` and a value ``v`` (any bencoded value of at most 1,000 bytes), signed by the key's
holder over ``4:salt<len>:<salt>`` (only when the salt is non-empty) followed by
``3:seqi<seq>e1:v<bencoded v>`` (BEP 44, "Mutable items"). It is stored under the target
``SHA-1(k + salt)``. swarmfeed's head pointer is such an item whose ``v`` is the BEP 46 dict
``{"ih": ..., "n": ...}`` (protocol.md §6; see swarmfeed.core.feed for that value).

Everything here is pure: no sockets, files or clocks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from swarmfeed.core import bencoding
from swarmfeed.errors import BencodeError, InvalidInput, InvalidSignature, TooLarge

MAX_VALUE_BYTES = 1000
"""BEP 44: the bencoded ``v`` is at most 1,000 bytes (error 205 "message too big")."""

MAX_SALT_BYTES = 64
"""BEP 44: the salt is at most 64 bytes (error 207 "salt too big")."""

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
SEED_BYTES = 32
TARGET_BYTES = 20
MAX_SEQ = (1 << 63) - 1
"""``seq`` is a signed 64-bit integer in libtorrent and other implementations."""


@dataclass(frozen=True)
class MutableItem:
    """A signed BEP 44 mutable item; ``value`` is the canonical bencoding of ``v``.

    Construction checks nothing: call :func:`verify_item` before trusting one.
    """

    public_key: bytes
    seq: int
    value: bytes
    signature: bytes
    salt: bytes = b""

    @property
    def target(self) -> bytes:
        """Return the DHT target this item is stored under (BEP 44: SHA-1(k + salt))."""
        return target_id(self.public_key, self.salt)

    def to_bencodable(self) -> dict[str, Any]:
        """Return the on-disk form of this item, ready for ``bencoding.encode``.

        The dict is ``{"k": <32-byte key>, "salt": <salt, possibly empty>, "seq": <int>,
        "sig": <64-byte signature>, "v": <the bencoded value as a byte string>}``. ``v``
        holds the bencoded bytes themselves (not the decoded value), so the signed bytes
        come back exactly as they were.
        """
        return {
            "k": self.public_key,
            "salt": self.salt,
            "seq": self.seq,
            "sig": self.signature,
            "v": self.value,
        }

    @classmethod
    def from_bencodable(cls, data: Any) -> MutableItem:
        """Return the item stored by :meth:`to_bencodable` (keys may be bytes or str).

        Checks the shape (types and lengths) and raises BencodeError when it is wrong; it
        does not check the signature: call :func:`verify_item` for that.
        """
        if not isinstance(data, dict):
            raise BencodeError("a stored mutable item must be a dictionary")
        fields = {
            (key.decode("utf-8", "replace") if isinstance(key, bytes) else key): v
            for key, v in data.items()
        }
        salt = fields.get("salt", b"")
        return cls(
            public_key=bencoding.binary(fields.get("k"), "item k", length=PUBLIC_KEY_BYTES),
            seq=bencoding.integer(fields.get("seq"), "item seq", minimum=0),
            value=bencoding.binary(fields.get("v"), "item v"),
            signature=bencoding.binary(fields.get("sig"), "item sig", length=SIGNATURE_BYTES),
            salt=bencoding.binary(salt, "item salt"),
        )


def signable_bytes(seq: int, value: bytes, salt: bytes = b"") -> bytes:
    """Return the bytes a BEP 44 mutable item's signature covers."""
    # BEP 44: the salt entry is present only when the salt is non-empty, then "seq" and "v"
    # as they would appear inside the bencoded dict, without the enclosing "d" and "e".
    prefix = b"4:salt%d:%s" % (len(salt), salt) if salt else b""
    return prefix + b"3:seqi%de1:v" % seq + value


def target_id(public_key: bytes, salt: bytes = b"") -> bytes:
    """Return the 20-byte DHT target of a mutable item: SHA-1(public key + salt)."""
    return hashlib.sha1(public_key + salt, usedforsecurity=False).digest()


def sign_item(seed: bytes, value: bytes, seq: int, salt: bytes = b"") -> MutableItem:
    """Sign ``value`` (canonical bencoding) at ``seq`` with the ed25519 ``seed``.

    Raises TooLarge when ``value`` is over 1,000 bytes and InvalidInput when the seed is not
    32 bytes, ``value`` is not canonical bencoding, ``seq`` is out of range or the salt is
    over 64 bytes.
    """
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise InvalidInput("an ed25519 seed is 32 bytes")
    _check_fields(seq, value, salt)
    key = nacl.signing.SigningKey(seed)
    signature = key.sign(signable_bytes(seq, value, salt)).signature
    return MutableItem(bytes(key.verify_key), seq, value, bytes(signature), salt)


def verify_item(item: MutableItem) -> None:
    """Raise unless ``item`` is a well-formed mutable item signed by its public key.

    Raises TooLarge for a value over 1,000 bytes, InvalidInput for a malformed field (key,
    salt, seq, non-canonical value) and InvalidSignature when the signature does not verify.
    """
    if not isinstance(item.public_key, bytes) or len(item.public_key) != PUBLIC_KEY_BYTES:
        raise InvalidInput("a mutable item's public key is 32 bytes")
    if not isinstance(item.signature, bytes) or len(item.signature) != SIGNATURE_BYTES:
        raise InvalidSignature("a mutable item's signature is 64 bytes")
    _check_fields(item.seq, item.value, item.salt)
    message = signable_bytes(item.seq, item.value, item.salt)
    try:
        nacl.signing.VerifyKey(item.public_key).verify(message, item.signature)
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, TypeError) as exc:
        raise InvalidSignature("mutable item signature does not verify") from exc


def _check_fields(seq: int, value: bytes, salt: bytes) -> None:
    """Raise unless ``seq``, ``value`` and ``salt`` are within BEP 44's limits."""
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
        raise InvalidInput(f"seq must be an integer from 0 to {MAX_SEQ}")
    if not isinstance(salt, bytes):
        raise InvalidInput("salt must be bytes")
    if len(salt) > MAX_SALT_BYTES:
        raise InvalidInput(f"salt is {len(salt)} bytes, the limit is {MAX_SALT_BYTES}")
    if not isinstance(value, bytes):
        raise InvalidInput("value must be bencoded bytes")
    if len(value) > MAX_VALUE_BYTES:
        raise TooLarge(f"value is {len(value)} bytes, the limit is {MAX_VALUE_BYTES}")
    bencoding.decode(value)  # raises BencodeError (an InvalidInput) unless canonical

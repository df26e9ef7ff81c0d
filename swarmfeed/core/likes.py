"""Likes only the liked post's author can read (protocol.md §3.3).

A like entry in the liker's log carries ``sealed``: ``crypto_box_seal`` (libsodium sealed box,
X25519 + XSalsa20-Poly1305 with an ephemeral sender key) of a small bencoded dict to the
X25519 key derived from the liked post's author's ed25519 key. Everyone else sees only that the
liker published something sealed. Inside, the liker signs the post id and a time with their
ed25519 key, so the author can tell who liked what and a like cannot be passed off as someone
else's. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.exceptions
import nacl.public
import nacl.signing

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KEY_BYTES, SIGNATURE_BYTES, KeyPair, verify_signature
from swarmfeed.core.kinds import ID_BYTES, MAX_SEALED_BYTES
from swarmfeed.errors import InvalidInput

DOMAIN = b"swarmfeed-like-1:"
"""Prefix of the bytes the liker signs: DOMAIN + post id + created (8 bytes, big-endian)."""
_KEYS = frozenset({b"post", b"liker", b"created", b"sig"})


@dataclass(frozen=True)
class Like:
    """An opened like: who liked which post, when (the liker's claim), and their signature."""

    post: bytes
    liker: bytes
    created: int
    signature: bytes

    @property
    def post_id(self) -> str:
        """Return the liked post's id in hex."""
        return self.post.hex()


def signed_message(post: bytes, created: int) -> bytes:
    """Return the bytes a liker signs."""
    return DOMAIN + post + created.to_bytes(8, "big")


def seal_like(liker: KeyPair, author: bytes, post: bytes, created: int) -> bytes:
    """Return the sealed like of ``post`` (by ``author``) from ``liker``."""
    bencoding.binary(post, "liked post id", length=ID_BYTES)
    bencoding.integer(created, "like created", minimum=0, maximum=(1 << 63) - 1)
    plaintext = bencoding.encode(
        {
            "post": post,
            "liker": liker.public_key,
            "created": created,
            "sig": liker.sign(signed_message(post, created)),
        }
    )
    box = nacl.public.SealedBox(_curve_public(author))
    return bytes(box.encrypt(plaintext))


def open_like(recipient: KeyPair, sealed: bytes) -> Like:
    """Open a sealed like addressed to ``recipient`` and check the liker's signature.

    Raises InvalidInput when it is not addressed to ``recipient``, malformed, or forged.
    """
    if not isinstance(sealed, bytes) or not 1 <= len(sealed) <= MAX_SEALED_BYTES:
        raise InvalidInput("a sealed like is 1 to 512 bytes")
    key = nacl.signing.SigningKey(recipient.seed).to_curve25519_private_key()
    try:
        plaintext = nacl.public.SealedBox(key).decrypt(sealed)
    except nacl.exceptions.CryptoError as exc:
        raise InvalidInput("the sealed like is not addressed to this author") from exc
    value = bencoding.dictionary(bencoding.decode(plaintext, max_size=MAX_SEALED_BYTES), "like")
    if set(value) != _KEYS:
        raise InvalidInput("a like holds exactly post, liker, created and sig")
    like = Like(
        bencoding.binary(value[b"post"], "liked post id", length=ID_BYTES),
        bencoding.binary(value[b"liker"], "liker", length=KEY_BYTES),
        bencoding.integer(value[b"created"], "like created", minimum=0),
        bencoding.binary(value[b"sig"], "like sig", length=SIGNATURE_BYTES),
    )
    verify_signature(like.liker, signed_message(like.post, like.created), like.signature)
    return like


def _curve_public(author: bytes) -> nacl.public.PublicKey:
    """Return the X25519 public key of an ed25519 public key (RFC 7748 birational map)."""
    try:
        return nacl.signing.VerifyKey(author).to_curve25519_public_key()
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, TypeError) as exc:
        raise InvalidInput("the author's key cannot receive sealed likes") from exc

"""Notices: signed messages telling an author about a post that concerns them (protocol.md §11.8).

A notice says that an entry of the sender's log (its ``seq``) replied to, reposted or mentioned
one of the recipient's posts, or carries a sealed like (or unlike) for the recipient. It is
signed by the sender; the recipient's node checks it, fetches only the sender's page holding
the entry (likes need nothing fetched), and answers with an acknowledgement signed by the
recipient's key, so no other node can swallow a notice. The sender retries until it has one.
Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KEY_BYTES, SIGNATURE_BYTES, KeyPair, verify_signature
from swarmfeed.core.kinds import ID_BYTES, MAX_MENTIONS, MAX_SEALED_BYTES
from swarmfeed.core.posts import MAX_CREATED
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge

VERSION = 1
MAX_NOTICE_BYTES = 1024
REPLY = "reply"
REPOST = "repost"
MENTION = "mention"
LIKE = "like"
UNLIKE = "unlike"
KINDS = (REPLY, REPOST, MENTION, LIKE, UNLIKE)
SEALED_KINDS = (LIKE, UNLIKE)
"""Kinds that carry a sealed like instead of naming one of the recipient's posts."""
ACK_DOMAIN = b"swarmfeed-ack-1:"
"""Prefix of what an acknowledgement signs: ACK_DOMAIN + SHA-256 of the notice's bytes."""

FIRST_RETRY = 60.0
MAX_RETRY = 3600.0
GIVE_UP_AFTER = 7 * 24 * 3600.0
"""A notice nobody acknowledged for a week is dropped from the outbox."""

_KEYS = frozenset({b"v", b"from", b"to", b"kind", b"seq", b"created", b"sig"})
_ADDRESS = re.compile(r"magnet:\?xs=urn:btpk:([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Notice:
    """A notice from ``sender`` to ``recipient``; ``post`` or ``sealed`` depending on the kind."""

    sender: bytes
    recipient: bytes
    kind: str
    seq: int
    created: int
    post: bytes | None = None
    sealed: bytes | None = None
    signature: bytes = b""

    def _unsigned(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "v": VERSION,
            "from": self.sender,
            "to": self.recipient,
            "kind": self.kind,
            "seq": self.seq,
            "created": self.created,
        }
        if self.post is not None:
            value["post"] = self.post
        if self.sealed is not None:
            value["sealed"] = self.sealed
        return value

    def signable_bytes(self) -> bytes:
        """Return what the sender signs: the canonical bencoding without ``sig``."""
        return bencoding.encode(self._unsigned())

    def encode(self) -> bytes:
        """Return the notice's bytes (the ``n`` of a ``notice`` query)."""
        data = bencoding.encode({**self._unsigned(), "sig": self.signature})
        if len(data) > MAX_NOTICE_BYTES:
            raise TooLarge(f"a notice is {len(data)} bytes, the limit is {MAX_NOTICE_BYTES}")
        return data

    @property
    def id(self) -> str:
        """Return the SHA-256 of the notice's bytes in hex (the outbox's key)."""
        return hashlib.sha256(self.encode()).hexdigest()


def make_notice(
    keys: KeyPair,
    recipient: bytes,
    kind: str,
    seq: int,
    created: int,
    *,
    post: bytes | None = None,
    sealed: bytes | None = None,
) -> Notice:
    """Return a notice signed by ``keys``."""
    unsigned = Notice(keys.public_key, recipient, kind, seq, created, post, sealed)
    _check(unsigned)
    notice = Notice(
        keys.public_key, recipient, kind, seq, created, post, sealed, b"\x00" * SIGNATURE_BYTES
    )
    notice.encode()  # raises TooLarge before anything is signed
    return Notice(
        keys.public_key,
        recipient,
        kind,
        seq,
        created,
        post,
        sealed,
        keys.sign(unsigned.signable_bytes()),
    )


def decode_notice(data: bytes) -> Notice:
    """Parse a notice's bytes strictly (keys it does not define are refused); not verified."""
    value = bencoding.dictionary(bencoding.decode(data, max_size=MAX_NOTICE_BYTES), "notice")
    missing = _KEYS - value.keys()
    if missing:
        raise BencodeError(f"notice lacks {', '.join(sorted(k.decode() for k in missing))}")
    if bencoding.integer(value[b"v"], "notice v") != VERSION:
        raise InvalidInput(f"notice version {value[b'v']!r} is not {VERSION}")
    unknown = value.keys() - _KEYS - {b"post", b"sealed"}
    if unknown:
        raise BencodeError(f"notice has unknown keys {sorted(unknown)!r}")
    notice = Notice(
        bencoding.binary(value[b"from"], "notice from", length=KEY_BYTES),
        bencoding.binary(value[b"to"], "notice to", length=KEY_BYTES),
        bencoding.text(value[b"kind"], "notice kind", max_bytes=16),
        bencoding.integer(value[b"seq"], "notice seq", minimum=0),
        bencoding.integer(value[b"created"], "notice created", minimum=0, maximum=MAX_CREATED),
        None
        if b"post" not in value
        else bencoding.binary(value[b"post"], "notice post", length=ID_BYTES),
        None if b"sealed" not in value else bencoding.binary(value[b"sealed"], "notice sealed"),
        bencoding.binary(value[b"sig"], "notice sig", length=SIGNATURE_BYTES),
    )
    _check(notice)
    return notice


def verify_notice(notice: Notice) -> None:
    """Raise InvalidSignature unless the sender signed the notice."""
    verify_signature(notice.sender, notice.signable_bytes(), notice.signature)


def _check(notice: Notice) -> None:
    if notice.kind not in KINDS:
        raise InvalidInput(f"notice kind {notice.kind!r} is unknown")
    if notice.sender == notice.recipient:
        raise InvalidInput("a notice goes to another author")
    if notice.kind in SEALED_KINDS:
        if notice.post is not None or notice.sealed is None:
            raise InvalidInput(f"a {notice.kind} notice carries sealed and no post")
        if not 1 <= len(notice.sealed) <= MAX_SEALED_BYTES:
            raise TooLarge(f"sealed is {len(notice.sealed)} bytes, the limit is {MAX_SEALED_BYTES}")
    elif notice.sealed is not None or (notice.post is None) != (notice.kind == MENTION):
        raise InvalidInput(
            f"a {notice.kind} notice names {'no' if notice.kind == MENTION else 'a'} post"
        )


def ack_message(notice_bytes: bytes) -> bytes:
    """Return what an acknowledgement signs."""
    return ACK_DOMAIN + hashlib.sha256(notice_bytes).digest()


def sign_ack(keys: KeyPair, notice_bytes: bytes) -> bytes:
    """Return the recipient's acknowledgement of a notice."""
    return keys.sign(ack_message(notice_bytes))


def verify_ack(recipient: bytes, notice_bytes: bytes, ack: bytes) -> None:
    """Raise InvalidSignature unless ``ack`` is the recipient's acknowledgement of the notice."""
    verify_signature(recipient, ack_message(notice_bytes), ack)


def next_attempt(tries: int, first_sent: float, now: float) -> float | None:
    """Return when to try a notice again after ``tries`` attempts, or None to give up.

    1 minute after the first attempt, doubling to at most an hour, for a week.
    """
    delay = min(FIRST_RETRY * 2 ** max(tries - 1, 0), MAX_RETRY)
    due = now + delay
    return None if due - first_sent > GIVE_UP_AFTER else due


def mentioned_authors(text: str, exclude: bytes | None = None) -> tuple[bytes, ...]:
    """Return the author keys whose addresses appear in ``text`` (first 16, in order)."""
    found: list[bytes] = []
    for match in _ADDRESS.finditer(text):
        key = bytes.fromhex(match.group(1))
        if key != exclude and key not in found:
            found.append(key)
        if len(found) == MAX_MENTIONS:
            break
    return tuple(found)

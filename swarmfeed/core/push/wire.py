"""Push channel messages (protocol.md §11): KRPC-style bencoded dicts, strictly parsed.

Every message is one UDP datagram of at most ``MAX_MESSAGE_BYTES`` holding a canonical bencoded
dict with the channel version ``sf``, a transaction id ``t`` and a type ``y``: ``q`` (query:
method in ``q``, arguments in ``a``), ``r`` (reply: values in ``r``) or ``e`` (error:
``[code, text]``), as in KRPC (BEP 5). Unknown keys are ignored at every level, so a later
version may add fields; an unknown method is answered with error 204.

A ``push`` carries a BEP 44 mutable item exactly as a BEP 44 ``put`` does (``k``, ``seq``,
``sig``, ``v``, ``salt``), so the receiver verifies it as if it came from the DHT. Parsing
checks shapes and bounds only; verifying the signature is the caller's job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import (
    MAX_SALT_BYTES,
    MAX_SEQ,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    MutableItem,
)
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge

VERSION = 1
"""The channel version this implementation speaks (``sf``)."""
MAX_MESSAGE_BYTES = 1400
"""Largest datagram sent or accepted: one unfragmented packet on common 1,500-byte links.
The largest valid push (a 1,000-byte ``v`` and a 64-byte salt) takes about 1,260 bytes."""
MAX_TID_BYTES = 8
TOKEN_BYTES = 8
MAX_HOPS = 16
"""A push that has travelled this many hops is not relayed further; hop counts are 0..16."""
MAX_TTL = 3600
"""Longest subscription a holder grants, in seconds."""
MAX_ERROR_TEXT_BYTES = 64

RENDEZVOUS_PREFIX = b"swarmfeed:push:1:"
"""The DHT key holders of an author announce their channel endpoint under (§11.2)."""

# Error codes: KRPC's (BEP 5) and the channel's own.
ERROR_GENERIC = 201
ERROR_PROTOCOL = 203
ERROR_METHOD_UNKNOWN = 204
ERROR_FULL = 240
"""The holder's subscriber list for this author is full."""
ERROR_NOT_HELD = 241
"""The node does not hold (publish or follow) this author."""
ERROR_NOT_AUTHOR = 242
"""A notice reached a node that is not the recipient author's own (ask another holder)."""
ERROR_BUSY = 243
"""The recipient cannot take the notice now (rate or queue limit): try again later."""
ERROR_REFUSED = 244
"""The recipient does not take this notice (policy, block, or an invalid notice): never retry."""

METHOD_SUBSCRIBE = b"sub"
METHOD_UNSUBSCRIBE = b"unsub"
METHOD_PUSH = b"push"
METHOD_NOTICE = b"notice"
"""A notice to an author (replies, reposts, mentions, sealed likes): §11.8."""
MAX_NOTICE_BYTES = 1024
ACK_BYTES = 64


def rendezvous_key(public_key: bytes) -> bytes:
    """Return the 20-byte DHT key for the channel endpoints of ``public_key``'s holders.

    SHA-1 of a fixed prefix and the key: distinct from the BEP 44 head target (SHA-1 of the key
    alone) and from any BitTorrent-port rendezvous, so a lookup never mixes the two.
    """
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidInput("a public key is 32 bytes")
    return hashlib.sha1(RENDEZVOUS_PREFIX + public_key, usedforsecurity=False).digest()


@dataclass(frozen=True)
class Subscribe:
    """``sub``: ask to receive new heads of ``author``; ``token`` proves the source address."""

    tid: bytes
    author: bytes
    token: bytes | None = None


@dataclass(frozen=True)
class Unsubscribe:
    """``unsub``: stop receiving heads of ``author`` (needs a valid token)."""

    tid: bytes
    author: bytes
    token: bytes | None = None


@dataclass(frozen=True)
class Push:
    """``push``: a new signed head; ``hops`` is how far the sender is from the author."""

    tid: bytes
    item: MutableItem
    hops: int


@dataclass(frozen=True)
class NoticeQuery:
    """``notice``: a signed notice (``n``) for the author ``recipient``; ``token`` as for sub."""

    tid: bytes
    recipient: bytes
    notice: bytes
    token: bytes | None = None


@dataclass(frozen=True)
class UnknownQuery:
    """A query whose method this version does not implement (answered with error 204)."""

    tid: bytes
    method: bytes


@dataclass(frozen=True)
class Reply:
    """A reply (``y`` = ``r``); which fields are present depends on the query (§11.4)."""

    tid: bytes
    token: bytes | None = None
    ttl: int | None = None
    hops: int | None = None
    ack: bytes | None = None
    """The recipient author's signed acknowledgement of a notice."""


@dataclass(frozen=True)
class ErrorMessage:
    """An error (``y`` = ``e``): a KRPC or channel code and a short text."""

    tid: bytes
    code: int
    text: str


Query = Subscribe | Unsubscribe | Push | NoticeQuery | UnknownQuery
Message = Query | Reply | ErrorMessage


def encode(message: Message) -> bytes:
    """Return the datagram of ``message``; raises TooLarge over ``MAX_MESSAGE_BYTES``."""
    _check_tid(message.tid)
    envelope: dict[str, Any] = {"sf": VERSION, "t": message.tid}
    if isinstance(message, Subscribe | Unsubscribe):
        args: dict[str, Any] = {"k": _key(message.author)}
        if message.token is not None:
            args["token"] = _token(message.token)
        method = METHOD_SUBSCRIBE if isinstance(message, Subscribe) else METHOD_UNSUBSCRIBE
        envelope |= {"y": "q", "q": method, "a": args}
    elif isinstance(message, Push):
        envelope |= {"y": "q", "q": METHOD_PUSH, "a": _push_args(message)}
    elif isinstance(message, NoticeQuery):
        notice_args: dict[str, Any] = {"k": _key(message.recipient), "n": message.notice}
        if len(message.notice) > MAX_NOTICE_BYTES:
            raise TooLarge(f"a notice is at most {MAX_NOTICE_BYTES} bytes")
        if message.token is not None:
            notice_args["token"] = _token(message.token)
        envelope |= {"y": "q", "q": METHOD_NOTICE, "a": notice_args}
    elif isinstance(message, UnknownQuery):
        envelope |= {"y": "q", "q": message.method, "a": {}}
    elif isinstance(message, Reply):
        body: dict[str, Any] = {}
        if message.token is not None:
            body["token"] = _token(message.token)
        if message.ttl is not None:
            body["ttl"] = _bounded(message.ttl, 1, MAX_TTL, "ttl")
        if message.hops is not None:
            body["hops"] = _bounded(message.hops, 0, MAX_HOPS, "hops")
        if message.ack is not None:
            body["ack"] = bencoding.binary(message.ack, "ack", length=ACK_BYTES)
        envelope |= {"y": "r", "r": body}
    else:
        text = message.text.encode("utf-8")[:MAX_ERROR_TEXT_BYTES]
        envelope |= {"y": "e", "e": [message.code, text]}
    data = bencoding.encode(envelope)
    if len(data) > MAX_MESSAGE_BYTES:
        raise TooLarge(f"a channel message is {len(data)} bytes, the limit is {MAX_MESSAGE_BYTES}")
    return data


def decode(data: bytes) -> Message:
    """Parse one datagram or raise InvalidInput (TooLarge, BencodeError) saying why."""
    raw = bencoding.decode(data, max_size=MAX_MESSAGE_BYTES)
    top = bencoding.dictionary(raw, "channel message")
    version = bencoding.integer(top.get(b"sf"), "channel version sf", minimum=1)
    del version  # every version >= 1 is read as version 1; unknown keys are ignored
    tid = bencoding.binary(top.get(b"t"), "transaction id t")
    _check_tid(tid)
    kind = top.get(b"y")
    if kind == b"q":
        method = bencoding.binary(top.get(b"q"), "method q")
        args = bencoding.dictionary(top.get(b"a", {}), "arguments a")
        if method in (METHOD_SUBSCRIBE, METHOD_UNSUBSCRIBE):
            author = bencoding.binary(args.get(b"k"), "author k", length=PUBLIC_KEY_BYTES)
            token = _optional_token(args.get(b"token"))
            if method == METHOD_SUBSCRIBE:
                return Subscribe(tid, author, token)
            return Unsubscribe(tid, author, token)
        if method == METHOD_PUSH:
            return _push(tid, args)
        if method == METHOD_NOTICE:
            notice = bencoding.binary(args.get(b"n"), "notice n")
            if len(notice) > MAX_NOTICE_BYTES:
                raise TooLarge(f"a notice is {len(notice)} bytes, the limit is {MAX_NOTICE_BYTES}")
            recipient = bencoding.binary(args.get(b"k"), "recipient k", length=PUBLIC_KEY_BYTES)
            return NoticeQuery(tid, recipient, notice, _optional_token(args.get(b"token")))
        if len(method) > 32:
            raise BencodeError("method name over 32 bytes")
        return UnknownQuery(tid, method)
    if kind == b"r":
        body = bencoding.dictionary(top.get(b"r"), "reply r")
        return Reply(
            tid,
            token=_optional_token(body.get(b"token")),
            ttl=_optional_bounded(body.get(b"ttl"), 1, MAX_TTL, "ttl"),
            hops=_optional_bounded(body.get(b"hops"), 0, MAX_HOPS, "hops"),
            ack=None
            if body.get(b"ack") is None
            else bencoding.binary(body[b"ack"], "ack", length=ACK_BYTES),
        )
    if kind == b"e":
        error = top.get(b"e")
        if not isinstance(error, list) or not error:
            raise BencodeError("error e must be a non-empty list")
        code = bencoding.integer(error[0], "error code")
        text = error[1] if len(error) > 1 and isinstance(error[1], bytes) else b""
        return ErrorMessage(tid, code, text[:MAX_ERROR_TEXT_BYTES].decode("utf-8", "replace"))
    raise BencodeError(f"unknown channel message type y={kind!r}")


def _push_args(message: Push) -> dict[str, Any]:
    item = message.item
    args: dict[str, Any] = {
        "hops": _bounded(message.hops, 0, MAX_HOPS, "hops"),
        "k": _key(item.public_key),
        "seq": _bounded(item.seq, 0, MAX_SEQ, "seq"),
        "sig": item.signature,
        # As in a BEP 44 put, "v" is the bencoded value itself, byte for byte as signed.
        "v": bencoding.decode(item.value),
    }
    if item.salt:
        args["salt"] = item.salt
    return args


def _push(tid: bytes, args: dict[bytes, Any]) -> Push:
    salt = bencoding.binary(args.get(b"salt", b""), "push salt")
    if len(salt) > MAX_SALT_BYTES:
        raise TooLarge(f"push salt is {len(salt)} bytes, the limit is {MAX_SALT_BYTES}")
    if b"v" not in args:
        raise BencodeError("push without v")
    item = MutableItem(
        public_key=bencoding.binary(args.get(b"k"), "push k", length=PUBLIC_KEY_BYTES),
        seq=_bounded(args.get(b"seq"), 0, MAX_SEQ, "push seq"),
        value=bencoding.encode(args[b"v"]),
        signature=bencoding.binary(args.get(b"sig"), "push sig", length=SIGNATURE_BYTES),
        salt=salt,
    )
    return Push(tid, item, _bounded(args.get(b"hops"), 0, MAX_HOPS, "push hops"))


def _check_tid(tid: bytes) -> None:
    if not isinstance(tid, bytes) or not 1 <= len(tid) <= MAX_TID_BYTES:
        raise BencodeError(f"a transaction id is 1 to {MAX_TID_BYTES} bytes")


def _key(value: bytes) -> bytes:
    return bencoding.binary(value, "author key", length=PUBLIC_KEY_BYTES)


def _token(value: bytes) -> bytes:
    return bencoding.binary(value, "token", length=TOKEN_BYTES)


def _optional_token(value: Any) -> bytes | None:
    return None if value is None else _token(value)


def _bounded(value: Any, low: int, high: int, field: str) -> int:
    number = bencoding.integer(value, field, minimum=low)
    if number > high:
        raise BencodeError(f"{field} must be at most {high}, got {number}")
    return number


def _optional_bounded(value: Any, low: int, high: int, field: str) -> int | None:
    return None if value is None else _bounded(value, low, high, field)

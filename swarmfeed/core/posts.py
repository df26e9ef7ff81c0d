"""Posts: canonical encoding, signing, verification, post ids (protocol.md §3).

Version 1 posts are read exactly as version 1 defined them (every key known, kind ``post``).
Version 2 posts are forward compatible: a reader verifies the signature over the bytes it
received, ignores keys it does not know (they stay in those bytes, so the post id is the same
everywhere), and keeps a post of an unknown kind or version, or one whose ``crit`` names a key
it does not understand, as *unsupported*: shown, never acted upon.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from swarmfeed.core import bencoding, kinds
from swarmfeed.core.identity import KEY_BYTES, SIGNATURE_BYTES, KeyPair, verify_signature
from swarmfeed.core.kinds import PostRef, ProfileInfo
from swarmfeed.core.mediaref import (
    ANY_KEY,
    MAX_FILES,
    MAX_MIME_BYTES,
    MediaFile,
    MediaRef,
    check_keys,
)
from swarmfeed.errors import BencodeError, InvalidInput, InvalidSignature, TooLarge, WrongAuthor

__all__ = [
    "FORMAT_VERSION",
    "MAX_CREATED",
    "MAX_FILES",
    "MAX_MIME_BYTES",
    "MAX_POST_BYTES",
    "MAX_POST_BYTES_V2",
    "MAX_TEXT_BYTES",
    "MediaFile",
    "MediaRef",
    "Post",
    "SignedPost",
    "check_keys",
    "decode_post",
    "sign_post",
    "verify_post",
]

MAX_TEXT_BYTES = 8192
MAX_POST_BYTES = 65536
"""Encoded version-1 post, and any post embedded in a repost."""
MAX_POST_BYTES_V2 = 131072
"""Encoded version-2 post (a repost embeds a whole post of up to MAX_POST_BYTES)."""
MAX_CREATED = (1 << 34) - 1
"""Latest allowed ``created`` (Unix seconds, year 2514): keeps every value a date renders as."""
MAX_EMBED_DEPTH = 2
"""A repost may embed a quote, whose own original is the deepest post a reader decodes."""
FORMAT_VERSION = 2
"""The version this implementation signs."""
KINDS = kinds.KINDS

UNDERSTOOD_KEYS = frozenset(
    {
        "version",
        "author",
        "seq",
        "created",
        "kind",
        "text",
        "media",
        "sig",
        "reply_to",
        "root",
        "repost",
        "sealed",
        "target",
        "profile",
        "mentions",
        "crit",
    }
)
"""Keys a ``crit`` list may name for this reader to act on the post."""

_V1_KEYS = frozenset({b"version", b"author", b"seq", b"created", b"kind", b"text", b"sig"})
_V1_OPTIONAL = frozenset({b"media"})
_V2_KEYS = frozenset({b"version", b"author", b"seq", b"created", b"kind", b"sig"})
# "3:sig" + "64:" + 64 signature bytes: what the sig entry adds to the signed bytes.
_SIG_ENTRY_BYTES = 5 + 3 + SIGNATURE_BYTES


@dataclass(frozen=True)
class Post:
    """An unsigned post (protocol.md §3); kind-specific fields are None when absent.

    ``unsupported`` says why a received post is only shown, never acted upon (an unknown kind
    or version, or a ``crit`` key this reader does not understand); such a post carries only
    its common fields and, when it is text, its ``text``.
    """

    author: bytes
    seq: int
    created: int
    text: str
    media: MediaRef | None = None
    kind: str = kinds.POST
    version: int = FORMAT_VERSION
    reply_to: PostRef | None = None
    root: PostRef | None = None
    repost: SignedPost | None = None
    sealed: bytes | None = None
    target: bytes | None = None
    profile: ProfileInfo | None = None
    mentions: tuple[bytes, ...] = ()
    crit: tuple[str, ...] = ()
    unsupported: str | None = None
    wire: bytes | None = field(default=None, init=False, compare=False, repr=False)
    """The signed bytes exactly as received (decoded posts only; ``replace`` drops them)."""

    @property
    def supported(self) -> bool:
        """Return whether this reader understands the post well enough to act on it."""
        return self.unsupported is None

    @property
    def original(self) -> SignedPost | None:
        """Return the post a repost shows: the embedded one, unwrapping plain reposts."""
        inner = self.repost
        while inner is not None and inner.post.is_plain_repost and inner.post.repost is not None:
            inner = inner.post.repost
        return inner

    @property
    def is_plain_repost(self) -> bool:
        """Return whether this is a repost without text of its own (not a quote)."""
        return self.supported and self.kind == kinds.REPOST and not self.text

    def _unsigned(self) -> dict[Any, Any]:
        if self.wire is not None:
            return bencoding.dictionary(bencoding.decode(self.wire), "post")
        value: dict[str, Any] = {
            "version": self.version,
            "author": self.author,
            "seq": self.seq,
            "created": self.created,
            "kind": self.kind,
        }
        if self.version == 1 or self.text:
            value["text"] = self.text
        optional: dict[str, Any] = {
            "media": self.media.to_bencodable() if self.media else None,
            "reply_to": self.reply_to.to_bencodable() if self.reply_to else None,
            "root": self.root.to_bencodable() if self.root else None,
            "repost": self.repost.to_bencodable() if self.repost else None,
            "sealed": self.sealed,
            "target": self.target,
            "profile": self.profile.to_bencodable() if self.profile else None,
            "mentions": list(self.mentions) or None,
            "crit": list(self.crit) or None,
        }
        value.update({key: item for key, item in optional.items() if item is not None})
        return value

    def signable_bytes(self) -> bytes:
        """Return the signed bytes: the canonical bencoding without ``sig`` (protocol.md §3)."""
        if self.wire is not None:
            return self.wire
        return bencoding.encode(self._unsigned())

    def validate(self) -> None:
        """Raise InvalidInput or TooLarge unless this post may be signed and published."""
        if self.version not in (1, FORMAT_VERSION):
            raise InvalidInput(f"post version {self.version!r} is not 1 or {FORMAT_VERSION}")
        if self.kind not in (KINDS if self.version >= 2 else (kinds.POST,)):
            raise InvalidInput(f"post kind {self.kind!r} is unknown")
        if self.unsupported is not None:
            raise InvalidInput("an unsupported post cannot be signed")
        bencoding.binary(self.author, "post author", length=KEY_BYTES)
        bencoding.integer(self.seq, "post seq", minimum=0)
        bencoding.integer(self.created, "post created", minimum=0, maximum=MAX_CREATED)
        _check_text(self.text)
        if self.media is not None:
            self.media.validate()
        if self.version == 1:
            if (
                set(self._unsigned())
                - {"version", "author", "seq", "created", "kind", "text"}
                - {"media"}
            ):
                raise InvalidInput("a version-1 post has only text and media")
        else:
            _validate_kind(self)
        limit = MAX_POST_BYTES if self.version == 1 else MAX_POST_BYTES_V2
        encoded = len(self.signable_bytes()) + _SIG_ENTRY_BYTES
        if encoded > limit:
            raise TooLarge(f"encoded post is {encoded} bytes, the limit is {limit}")


@dataclass(frozen=True)
class SignedPost:
    """A post with its author's ed25519 signature."""

    post: Post
    signature: bytes

    @property
    def id(self) -> str:
        """Return the post id: SHA-256 of the signed bytes in hex (protocol.md §3)."""
        return hashlib.sha256(self.post.signable_bytes()).hexdigest()

    @property
    def raw_id(self) -> bytes:
        """Return the post id as 32 bytes."""
        return hashlib.sha256(self.post.signable_bytes()).digest()

    @property
    def ref(self) -> PostRef:
        """Return the reference other posts name this one by."""
        return PostRef(self.raw_id, self.post.author)

    def to_bencodable(self) -> dict[Any, Any]:
        """Return the post dict with ``sig``."""
        value = self.post._unsigned()
        value[b"sig" if self.post.wire is not None else "sig"] = self.signature
        return value

    def encode(self) -> bytes:
        """Return the canonical bencoding of the signed post."""
        return bencoding.encode(self.to_bencodable())


def sign_post(post: Post, keys: KeyPair) -> SignedPost:
    """Validate ``post`` and sign it with ``keys``, which must be the post's author."""
    post.validate()
    if keys.public_key != post.author:
        raise WrongAuthor("the signing key is not the post's author")
    return SignedPost(post, keys.sign(post.signable_bytes()))


def decode_post(data: bytes | dict[bytes, Any], *, embedded_depth: int = 0) -> SignedPost:
    """Decode a post (bytes, or a dict decoded from a page) strictly; signatures are not checked.

    ``embedded_depth`` counts the reposts around this one (an embedded post is at most
    MAX_POST_BYTES and embeds at most MAX_EMBED_DEPTH levels in all).
    """
    limit = MAX_POST_BYTES if embedded_depth else MAX_POST_BYTES_V2
    if isinstance(data, dict):
        value = data
        # Decoded input is canonical, so re-encoding gives back the received size.
        size = len(bencoding.encode(value))
    else:
        value = bencoding.dictionary(bencoding.decode(data, max_size=limit), "post")
        size = len(data)
    if b"version" not in value:
        raise BencodeError("post lacks version")
    version = bencoding.integer(value[b"version"], "post version", minimum=1)
    if version == 1:
        limit = MAX_POST_BYTES
    if size > limit:
        raise TooLarge(f"encoded post is {size} bytes, the limit is {limit}")
    unsigned = {key: item for key, item in value.items() if key != b"sig"}
    post = _decode_v1(value) if version == 1 else _decode_v2(value, version, embedded_depth)
    object.__setattr__(post, "wire", bencoding.encode(unsigned))
    return SignedPost(post, bencoding.binary(value[b"sig"], "post sig", length=SIGNATURE_BYTES))


def _common(value: dict[bytes, Any]) -> dict[str, Any]:
    return {
        "author": bencoding.binary(value[b"author"], "post author", length=KEY_BYTES),
        "seq": bencoding.integer(value[b"seq"], "post seq", minimum=0),
        "created": bencoding.integer(
            value[b"created"], "post created", minimum=0, maximum=MAX_CREATED
        ),
    }


def _decode_v1(value: dict[bytes, Any]) -> Post:
    """Version 1 (protocol.md §3.1): every key known, kind ``post``, text required."""
    check_keys(value, _V1_KEYS, _V1_OPTIONAL, "post")
    kind = bencoding.text(value[b"kind"], "post kind", max_bytes=64)
    if kind != kinds.POST:
        raise InvalidInput(f"post kind {kind!r} is unknown in version 1")
    media = value.get(b"media")
    return Post(
        **_common(value),
        text=bencoding.text(value[b"text"], "post text", max_bytes=MAX_TEXT_BYTES),
        media=None if media is None else MediaRef.from_bencodable(media),
        kind=kind,
        version=1,
    )


def _decode_v2(value: dict[bytes, Any], version: int, depth: int) -> Post:
    """Version 2 and later (protocol.md §3.2): unknown keys ignored, unknown kinds kept."""
    check_keys(value, _V2_KEYS, ANY_KEY, "post")
    common = _common(value)
    kind = bencoding.text(value[b"kind"], "post kind", max_bytes=64)
    crit = kinds.parse_crit(value[b"crit"]) if b"crit" in value else ()
    reason = None
    if version > FORMAT_VERSION:
        reason = f"post version {version} needs a newer swarmfeed"
    elif kind not in KINDS:
        reason = f"kind {kind!r} is not known to this swarmfeed"
    elif not set(crit) <= UNDERSTOOD_KEYS:
        reason = f"it needs {sorted(set(crit) - UNDERSTOOD_KEYS)!r} understood"
    if reason is not None:
        raw_text = value.get(b"text")
        text = ""
        if isinstance(raw_text, bytes) and len(raw_text) <= MAX_TEXT_BYTES:
            text = raw_text.decode("utf-8", "replace")
        return Post(**common, text=text, kind=kind, version=version, crit=crit, unsupported=reason)
    text = bencoding.text(value.get(b"text", b""), "post text", max_bytes=MAX_TEXT_BYTES)
    media = value.get(b"media")
    fields: dict[str, Any] = {
        "media": None if media is None else MediaRef.from_bencodable(media, strict=False),
        "mentions": kinds.parse_mentions(value[b"mentions"]) if b"mentions" in value else (),
    }
    if kind == kinds.REPLY:
        fields["reply_to"] = PostRef.from_bencodable(value.get(b"reply_to"), "reply_to")
        if b"root" in value:
            fields["root"] = PostRef.from_bencodable(value[b"root"], "root")
    elif kind == kinds.REPOST:
        if depth >= MAX_EMBED_DEPTH:
            raise InvalidInput(f"reposts embed at most {MAX_EMBED_DEPTH} levels of posts")
        embedded = bencoding.dictionary(value.get(b"repost"), "repost")
        fields["repost"] = decode_post(embedded, embedded_depth=depth + 1)
    elif kind == kinds.LIKE:
        fields["sealed"] = _sealed(value.get(b"sealed"))
    elif kind == kinds.DELETE:
        fields["target"] = bencoding.binary(value.get(b"target"), "target", length=kinds.ID_BYTES)
    elif kind == kinds.PROFILE:
        fields["profile"] = ProfileInfo.from_bencodable(value.get(b"profile"))
    return Post(**common, text=text, kind=kind, version=version, crit=crit, **fields)


def _sealed(value: Any) -> bytes:
    sealed = bencoding.binary(value, "sealed")
    if not 1 <= len(sealed) <= kinds.MAX_SEALED_BYTES:
        raise TooLarge(f"sealed is {len(sealed)} bytes, expected 1 to {kinds.MAX_SEALED_BYTES}")
    return sealed


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise InvalidInput("post text must be text")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInput("post text is not valid UTF-8") from exc
    if size > MAX_TEXT_BYTES:
        raise TooLarge(f"post text is {size} bytes, the limit is {MAX_TEXT_BYTES}")


def _validate_kind(post: Post) -> None:
    """Raise InvalidInput unless ``post`` carries exactly what its kind needs (version 2)."""
    present = {
        "reply_to": post.reply_to,
        "root": post.root,
        "repost": post.repost,
        "sealed": post.sealed,
        "target": post.target,
        "profile": post.profile,
    }
    allowed = {
        kinds.POST: set(),
        kinds.REPLY: {"reply_to", "root"},
        kinds.REPOST: {"repost"},
        kinds.LIKE: {"sealed"},
        kinds.DELETE: {"target"},
        kinds.PROFILE: {"profile"},
    }[post.kind]
    extra = {name for name, item in present.items() if item is not None} - allowed
    if extra:
        raise InvalidInput(f"a {post.kind} does not carry {', '.join(sorted(extra))}")
    needed = {
        kinds.REPLY: "reply_to",
        kinds.REPOST: "repost",
        kinds.LIKE: "sealed",
        kinds.DELETE: "target",
        kinds.PROFILE: "profile",
    }.get(post.kind)
    if needed is not None and present[needed] is None:
        raise InvalidInput(f"a {post.kind} needs {needed}")
    if post.kind in (kinds.LIKE, kinds.DELETE) and (post.text or post.media or post.mentions):
        raise InvalidInput(f"a {post.kind} carries no text, media or mentions")
    for ref in (post.reply_to, post.root):
        if ref is not None:
            ref.validate()
    if post.sealed is not None:
        _sealed(post.sealed)
    if post.target is not None:
        bencoding.binary(post.target, "target", length=kinds.ID_BYTES)
    if post.profile is not None:
        post.profile.validate()
        if post.media is not None and (
            len(post.media.files) != 1 or not post.media.files[0].mime.startswith("image/")
        ):
            raise InvalidInput("a profile's media is one image (the avatar)")
    kinds.parse_mentions(list(post.mentions))
    if post.repost is not None:
        embedded = post.repost
        if embedded.post.is_plain_repost:
            raise InvalidInput("a repost of a plain repost embeds its original instead")
        if len(embedded.encode()) > MAX_POST_BYTES:
            raise TooLarge(f"a reposted post is at most {MAX_POST_BYTES} bytes")
        verify_post(embedded)


def verify_post(signed: SignedPost, author: bytes | None = None) -> None:
    """Raise WrongAuthor if ``author`` is given and differs, InvalidSignature if a sig fails.

    A repost's embedded post is verified under its own author: a reader needs nothing of that
    author but the post itself.
    """
    if author is not None and signed.post.author != author:
        raise WrongAuthor(
            f"wrong author: post by {signed.post.author.hex()[:16]}, expected {author.hex()[:16]}"
        )
    verify_signature(signed.post.author, signed.post.signable_bytes(), signed.signature)
    if signed.post.repost is not None:
        try:
            verify_post(signed.post.repost)
        except InvalidSignature as exc:
            raise InvalidSignature(f"the reposted post is forged: {exc}") from exc

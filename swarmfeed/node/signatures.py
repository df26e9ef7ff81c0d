"""Signature checks of stored posts for display, remembered so a timeline costs no ed25519 work.

Every post was verified before it was stored; pages show the result of checking it again
against the author key. A post's id is the SHA-256 of its signed bytes (protocol.md §3), so a
signature that verified once for an id verifies forever: the result is kept per id.
"""

from __future__ import annotations

from collections import OrderedDict

from swarmfeed.core.posts import SignedPost, verify_post
from swarmfeed.errors import InvalidInput


class SignatureCache:
    """Remembers the verification result of the most recently shown posts (bounded)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._results: OrderedDict[tuple[str, bytes], str | None] = OrderedDict()

    def check(self, signed: SignedPost) -> str | None:
        """Return None when the signature is valid for the post's author, else the reason."""
        key = (signed.id, signed.signature)
        if key in self._results:
            self._results.move_to_end(key)
            return self._results[key]
        try:
            verify_post(signed, signed.post.author)
            result: str | None = None
        except InvalidInput as exc:
            result = str(exc)
        self._results[key] = result
        if len(self._results) > self.size:
            self._results.popitem(last=False)
        return result

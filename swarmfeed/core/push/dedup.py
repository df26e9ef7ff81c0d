"""Duplicate suppression: the newest head seen per author decides what a push is worth."""

from __future__ import annotations

import enum
import hashlib
from collections import OrderedDict


class Seen(enum.Enum):
    """What a pushed head is, compared with the newest one seen of its author."""

    NEW = "new"
    """A higher seq than any seen: verify it, then offer and relay it."""
    DUPLICATE = "duplicate"
    """The same seq and value as the newest seen: another copy, dropped quietly."""
    OLDER = "older"
    """A lower seq: a replay or a straggler, dropped."""
    CONFLICT = "conflict"
    """The same seq with another value: forged, or the author equivocates; never relayed."""


class SeenHeads:
    """Remembers the newest seq (and a digest of its value) per author, for ``max_authors``."""

    def __init__(self, max_authors: int = 4096) -> None:
        if max_authors < 1:
            raise ValueError("max_authors must be positive")
        self.max_authors = max_authors
        self._newest: OrderedDict[bytes, tuple[int, bytes]] = OrderedDict()

    def judge(self, author: bytes, seq: int, value: bytes) -> Seen:
        """Return what a head of ``author`` at ``seq`` with ``value`` is (records nothing)."""
        known = self._newest.get(author)
        if known is None or seq > known[0]:
            return Seen.NEW
        if seq < known[0]:
            return Seen.OLDER
        return Seen.DUPLICATE if _digest(value) == known[1] else Seen.CONFLICT

    def record(self, author: bytes, seq: int, value: bytes) -> bool:
        """Remember a verified head if it is newer than the one known; return whether it was."""
        known = self._newest.get(author)
        if known is not None and seq <= known[0]:
            return False
        self._newest[author] = (seq, _digest(value))
        self._newest.move_to_end(author)
        if len(self._newest) > self.max_authors:
            self._newest.popitem(last=False)
        return True

    def newest(self, author: bytes) -> int | None:
        """Return the newest seq recorded for ``author``."""
        known = self._newest.get(author)
        return known[0] if known else None

    def forget(self, author: bytes) -> None:
        """Drop what is known of ``author`` (unfollowed)."""
        self._newest.pop(author, None)


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()[:16]

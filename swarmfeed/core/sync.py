"""Which pages of a followed feed to fetch and what to accept from them (protocol.md §5, §6; pure).

A follower holds a verified head ``{"ih", "n"}`` and some pages of the author's chain. The walk
goes from the newest page (named by the head) back along each page's ``prev`` until it reaches
a page it already holds (or page 0). Every page it is given is authenticated by the page (or
head) that named it, so it can be stored as soon as it passes its checks: a long back catalogue
is stored page by page, newest first, and a walk may pause after a bounded number of fetches
and resume from the head later. Where the namer gives the SHA-256 of the page's bytes (the
head's ``h``, a version 2 page's ``prevh``), the bytes are checked against it too, so the chain
does not rest on SHA-1 alone. Nothing here does I/O; the follower drives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from swarmfeed.core.feed import (
    PAGE_CAPACITY,
    FeedPage,
    HeadPointer,
    check_log_consistency,
    decode_page,
    page_sha256,
    verify_page,
)
from swarmfeed.errors import InvalidInput, RolledBack, TooLarge

DEFAULT_MAX_POSTS = 1_000_000
"""Posts a node keeps per author unless configured otherwise (a head claiming more is refused)."""
DEFAULT_PAGES_PER_RUN = 32
"""Pages one sync fetches before it yields to other authors (the walk resumes next run)."""


@dataclass(frozen=True)
class HeldPage:
    """A page of the author's chain the follower already stores."""

    index: int
    infohash: str
    full: bool
    prev: str | None
    """The v1 infohash (hex) the page names as its predecessor; None for page 0 or unknown."""
    sha256: str | None = None
    """The SHA-256 (hex) of the page's bytes; None when not recorded."""
    prevh: str | None = None
    """The SHA-256 (hex) the page names for its predecessor (version 2 pages)."""


@dataclass(frozen=True)
class WalkLimits:
    """Bounds on one author's feed and on one sync run."""

    max_posts: int = DEFAULT_MAX_POSTS
    pages_per_run: int = DEFAULT_PAGES_PER_RUN


DEFAULT_LIMITS = WalkLimits()


@dataclass(frozen=True)
class FetchPage:
    """Fetch the page torrent ``infohash``; it must be page ``index`` of the chain."""

    infohash: str
    index: int


@dataclass(frozen=True)
class WalkDone:
    """The walk ended: ``complete`` when every page down to page 0 is held, else paused."""

    complete: bool


WalkStep = FetchPage | WalkDone


def is_news(seq: int, stored: int | None, offered: int | None, judged: int | None) -> bool:
    """Return True if a head of ``seq`` is newer than the stored, offered and judged heads.

    A head equal to the one a sync is judging is no news: taking it would end that sync's
    page wait and start it over (a push offered again, a poll answered by the same item).
    """
    return all(other is None or seq > other for other in (stored, offered, judged))


def newest_index(count: int) -> int:
    """Return the index of the page holding post ``count - 1`` (§5: ``first = index * 64``)."""
    return (count - 1) // PAGE_CAPACITY


class ChainWalk:
    """Walks one author's page chain from a verified head back to the pages already held."""

    def __init__(
        self,
        author: bytes,
        head: HeadPointer,
        held: Mapping[int, HeldPage],
        limits: WalkLimits = DEFAULT_LIMITS,
    ) -> None:
        """Prepare a walk toward ``head``; raise InvalidInput for a head no chain can satisfy."""
        if head.count < 1:
            raise InvalidInput("head names an empty feed (n = 0)")
        if head.count > limits.max_posts:
            raise TooLarge(
                f"head claims {head.count} posts; this node keeps at most"
                f" {limits.max_posts} posts per author"
            )
        self.author = author
        self.head = head
        self.held = dict(held)
        self.limits = limits
        self.newest = newest_index(head.count)
        self.fetched = 0
        self.head_confirmed = False
        """True once the newest page the head names is held (stored now or before)."""
        self._asked: dict[str, int] = {}
        self._sha256: dict[str, bytes | None] = {}
        newest_held = self.held.get(self.newest)
        beyond = [i for i in self.held if i > self.newest]
        if beyond:
            raise RolledBack(
                f"rewritten log: head ends at page {self.newest} but page {max(beyond)} is held"
            )
        if newest_held is not None and newest_held.full and self.newest_ih != newest_held.infohash:
            raise RolledBack(
                f"rewritten log: full page {self.newest} is held with another infohash"
            )

    @property
    def newest_ih(self) -> str:
        """Return the newest page's v1 infohash (hex) as the head names it."""
        return self.head.infohash.hex()

    def first_step(self) -> WalkStep:
        """Return the first thing to do."""
        return self._step_to(self.newest, self.newest_ih, self.head.sha256)

    def check(self, infohash: str, data: bytes, accepted: Mapping[int, str]) -> FeedPage:
        """Decode and verify the bytes of page torrent ``infohash`` (CPU-heavy; no I/O).

        ``accepted`` maps already stored seqs of the page's range to their post ids. Raises
        InvalidInput (or a subclass) naming why the page is refused.
        """
        expected = self._expected_index(infohash)
        sha256 = self._sha256.get(infohash)
        if sha256 is not None and page_sha256(data) != sha256:
            raise InvalidInput(
                f"page {infohash[:16]} does not have the SHA-256 the chain names for it"
            )
        page = decode_page(data)
        verify_page(page, self.author)
        if page.index != expected:
            raise InvalidInput(
                f"page {infohash[:16]} has index {page.index}, the chain expects {expected}"
            )
        if page.index == self.newest:
            if page.last_seq + 1 != self.head.count:
                raise RolledBack(
                    f"head says {self.head.count} posts but its newest page ends at seq"
                    f" {page.last_seq}"
                )
        elif not page.is_full:
            # §5: every page but the newest holds exactly `capacity` posts.
            raise InvalidInput(f"older page {page.index} of the chain is not full")
        check_log_consistency(accepted, page)
        return page

    def stored(self, infohash: str, page: FeedPage) -> WalkStep:
        """Record that the checked ``page`` was stored; return the next step."""
        self.fetched += 1
        prev = page.prev.hex() if page.prev is not None else None
        prevh = page.prevh.hex() if page.prevh is not None else None
        self.held[page.index] = HeldPage(page.index, infohash, page.is_full, prev, None, prevh)
        if page.index == self.newest:
            self.head_confirmed = True
        if page.index == 0 or prev is None:
            return WalkDone(True)
        return self._step_to(page.index - 1, prev, page.prevh)

    def _expected_index(self, infohash: str) -> int:
        index = self._asked.get(infohash)
        if index is None:
            raise InvalidInput(f"page {infohash[:16]} is not part of the chain being walked")
        return index

    def _step_to(self, index: int, infohash: str, sha256: bytes | None) -> WalkStep:
        """Skip pages already held with this infohash; fetch the first one that is not."""
        while True:
            held = self.held.get(index)
            if held is not None and held.infohash == infohash:
                if sha256 is not None and held.sha256 is not None and held.sha256 != sha256.hex():
                    raise RolledBack(
                        f"rewritten log: page {index} is held with bytes of another SHA-256"
                    )
                if index == self.newest:
                    self.head_confirmed = True
                if index == 0 or held.prev is None:
                    return WalkDone(True)
                index, infohash = index - 1, held.prev
                sha256 = bytes.fromhex(held.prevh) if held.prevh else None
                continue
            if held is not None and held.full:
                raise RolledBack(
                    f"rewritten log: page {index} is held with infohash {held.infohash[:16]},"
                    f" the chain names {infohash[:16]}"
                )
            if self.fetched >= self.limits.pages_per_run:
                return WalkDone(False)
            self._asked[infohash] = index
            self._sha256[infohash] = sha256
            return FetchPage(infohash, index)

"""The follower's chain walk (core/sync): which pages to fetch, what to accept, when to stop."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmfeed.core.feed import PAGE_CAPACITY, FeedPage, HeadPointer, page_sha256
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import Post, SignedPost, sign_post
from swarmfeed.core.sync import ChainWalk, FetchPage, HeldPage, WalkDone, WalkLimits, is_news
from swarmfeed.errors import InvalidInput, RolledBack, TooLarge

ALICE = KeyPair.from_seed(b"\x07" * 32)
_POSTS: dict[int, SignedPost] = {}


def post(seq: int, text: str | None = None) -> SignedPost:
    if text is not None:
        return sign_post(Post(ALICE.public_key, seq, 1_700_000_000, text), ALICE)
    if seq not in _POSTS:
        _POSTS[seq] = sign_post(Post(ALICE.public_key, seq, 1_700_000_000, f"post {seq}"), ALICE)
    return _POSTS[seq]


@dataclass
class Chain:
    """An author's chain of pages for ``count`` posts, with fake (but distinct) infohashes."""

    pages: list[FeedPage]
    hashes: list[str]

    @property
    def head(self) -> HeadPointer:
        count = self.pages[-1].last_seq + 1
        newest = self.pages[-1]
        sha = page_sha256(newest.encode()) if newest.version >= 2 else None
        return HeadPointer(bytes.fromhex(self.hashes[-1]), count, sha)

    def data(self, infohash: str) -> bytes:
        return self.pages[self.hashes.index(infohash)].encode()

    def held(self, indexes: list[int]) -> dict[int, HeldPage]:
        return {
            i: HeldPage(
                i,
                self.hashes[i],
                self.pages[i].is_full,
                self.pages[i].prev.hex() if self.pages[i].prev else None,
                page_sha256(self.pages[i].encode()).hex(),
                self.pages[i].prevh.hex() if self.pages[i].prevh else None,
            )
            for i in indexes
        }


def chain(count: int, last_text: str | None = None) -> Chain:
    pages: list[FeedPage] = []
    hashes: list[str] = []
    for index in range((count - 1) // PAGE_CAPACITY + 1):
        first = index * PAGE_CAPACITY
        last = min(count, first + PAGE_CAPACITY)
        posts = [post(s) for s in range(first, last)]
        if last_text is not None and last == count:
            posts[-1] = post(count - 1, last_text)
        prev = bytes.fromhex(hashes[-1]) if hashes else None
        prevh = page_sha256(pages[-1].encode()) if pages else None
        page = FeedPage(
            ALICE.public_key, index, first, PAGE_CAPACITY, prev, tuple(posts), None, prevh
        )
        pages.append(page)
        hashes.append(hashlib.sha1(page.encode()).hexdigest())
    return Chain(pages, hashes)


def run(
    walk: ChainWalk, source: Chain, accepted: dict[int, str] | None = None
) -> tuple[list[int], WalkDone]:
    """Drive ``walk`` to its end; return the page indexes fetched and the final step."""
    fetched: list[int] = []
    step = walk.first_step()
    while isinstance(step, FetchPage):
        page = walk.check(step.infohash, source.data(step.infohash), accepted or {})
        fetched.append(page.index)
        step = walk.stored(step.infohash, page)
    return fetched, step


def test_a_new_follower_walks_newest_first_to_page_zero() -> None:
    source = chain(150)
    walk = ChainWalk(ALICE.public_key, source.head, {})
    fetched, done = run(walk, source)
    assert fetched == [2, 1, 0]
    assert done == WalkDone(True)
    assert walk.head_confirmed


def test_a_new_post_fetches_only_the_new_newest_page() -> None:
    before = chain(130)
    after = chain(131)
    walk = ChainWalk(ALICE.public_key, after.head, before.held([0, 1, 2]))
    fetched, done = run(walk, after)
    assert fetched == [2]
    assert done.complete


def test_a_walk_pauses_after_its_budget_and_resumes_where_it_stopped() -> None:
    source = chain(5 * PAGE_CAPACITY)
    held: dict[int, HeldPage] = {}
    runs: list[list[int]] = []
    while True:
        walk = ChainWalk(ALICE.public_key, source.head, held, WalkLimits(pages_per_run=2))
        fetched, done = run(walk, source)
        runs.append(fetched)
        held = dict(walk.held)
        if done.complete:
            break
    assert runs == [[4, 3], [2, 1], [0]]


def test_held_history_below_a_gap_is_not_fetched_again() -> None:
    source = chain(6 * PAGE_CAPACITY)
    walk = ChainWalk(ALICE.public_key, source.head, source.held([0, 1, 5]))
    fetched, done = run(walk, source)
    assert fetched == [4, 3, 2]
    assert done.complete


def test_the_head_is_confirmed_when_its_newest_page_is_already_held() -> None:
    source = chain(70)
    walk = ChainWalk(ALICE.public_key, source.head, source.held([0, 1]))
    assert walk.first_step() == WalkDone(True)
    assert walk.head_confirmed


def test_a_newest_page_that_lies_about_n_is_refused() -> None:
    source = chain(10)
    lying = HeadPointer(source.head.infohash, 12)
    walk = ChainWalk(ALICE.public_key, lying, {})
    step = walk.first_step()
    assert isinstance(step, FetchPage) and step.index == 0
    with pytest.raises(RolledBack, match="12 posts"):
        walk.check(step.infohash, source.data(step.infohash), {})


def test_a_page_with_the_wrong_index_is_refused() -> None:
    source = chain(100)
    # The head claims 10 posts (newest index 0) but names page 1's torrent.
    bad = HeadPointer(bytes.fromhex(source.hashes[1]), 10)
    walk = ChainWalk(ALICE.public_key, bad, {})
    step = walk.first_step()
    assert isinstance(step, FetchPage)
    with pytest.raises(InvalidInput, match="index 1"):
        walk.check(step.infohash, source.data(step.infohash), {})


def test_an_older_page_that_is_not_full_is_refused() -> None:
    short = chain(10)
    page1 = FeedPage(
        ALICE.public_key,
        1,
        64,
        PAGE_CAPACITY,
        bytes.fromhex(short.hashes[0]),
        (post(64),),
        prevh=page_sha256(short.pages[0].encode()),
    )
    source = Chain([short.pages[0], page1], [short.hashes[0], "ab" * 20])
    walk = ChainWalk(ALICE.public_key, source.head, {})
    with pytest.raises(InvalidInput, match="not full"):
        run(walk, source)


def test_a_rewritten_post_is_refused() -> None:
    source = chain(5)
    accepted = {4: post(4, "another text").id}
    walk = ChainWalk(ALICE.public_key, source.head, {})
    with pytest.raises(RolledBack, match="rewritten"):
        run(walk, source, accepted)


def test_a_held_full_page_under_another_infohash_is_a_rewritten_log() -> None:
    source = chain(3 * PAGE_CAPACITY)
    held = source.held([0, 1])
    held[1] = HeldPage(1, "cd" * 20, True, held[1].prev)
    walk = ChainWalk(ALICE.public_key, source.head, held)
    with pytest.raises(RolledBack, match="page 1 is held"):
        run(walk, source)


def test_a_shrunk_chain_is_refused_before_anything_is_fetched() -> None:
    old = chain(3 * PAGE_CAPACITY)
    new = chain(PAGE_CAPACITY + 1)
    with pytest.raises(RolledBack, match="page 2 is held"):
        ChainWalk(ALICE.public_key, new.head, old.held([0, 1, 2]))


@pytest.mark.parametrize(("count", "limit", "error"), [(0, 10, InvalidInput), (11, 10, TooLarge)])
def test_heads_no_chain_can_satisfy_are_refused(
    count: int, limit: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        ChainWalk(ALICE.public_key, HeadPointer(b"\x01" * 20, count), {}, WalkLimits(limit))


def test_a_page_that_was_not_asked_for_is_refused() -> None:
    source = chain(100)
    walk = ChainWalk(ALICE.public_key, source.head, {})
    walk.first_step()
    with pytest.raises(InvalidInput, match="not part of the chain"):
        walk.check(source.hashes[0], source.data(source.hashes[0]), {})


def test_another_authors_page_is_refused() -> None:
    source = chain(3)
    walk = ChainWalk(KeyPair.from_seed(b"\x08" * 32).public_key, source.head, {})
    with pytest.raises(InvalidInput):
        run(walk, source)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 5 * PAGE_CAPACITY),
    st.sets(st.integers(0, 4)),
    st.integers(1, 3),
)
def test_any_walk_ends_complete_fetching_each_missing_page_once_newest_first(
    count: int, held_indexes: set[int], budget: int
) -> None:
    source = chain(count)
    held = source.held([i for i in held_indexes if i < len(source.pages)])
    missing = sorted((i for i in range(len(source.pages)) if i not in held), reverse=True)
    fetched_all: list[int] = []
    for _ in range(len(source.pages) + 1):
        walk = ChainWalk(ALICE.public_key, source.head, held, WalkLimits(pages_per_run=budget))
        fetched, done = run(walk, source)
        assert fetched == sorted(fetched, reverse=True)
        fetched_all += fetched
        held = dict(walk.held)
        if done.complete:
            break
    assert done.complete
    assert len(fetched_all) == len(set(fetched_all))
    assert set(fetched_all) == set(missing)


# --- SHA-256 integrity (version 2: the head's h, the pages' prevh) ----------------------------


def test_a_newest_page_whose_bytes_differ_from_the_heads_sha256_is_refused() -> None:
    source = chain(10)
    head = HeadPointer(source.head.infohash, source.head.count, b"\x00" * 32)
    walk = ChainWalk(ALICE.public_key, head, {})
    with pytest.raises(InvalidInput, match="SHA-256"):
        run(walk, source)


def test_an_older_page_whose_bytes_differ_from_prevh_is_refused() -> None:
    source = chain(PAGE_CAPACITY + 3)
    newest = source.pages[1]
    lying = FeedPage(
        newest.author, 1, newest.first, PAGE_CAPACITY, newest.prev, newest.posts, None, b"\x01" * 32
    )
    forged = Chain([source.pages[0], lying], [source.hashes[0], "ef" * 20])
    walk = ChainWalk(ALICE.public_key, forged.head, {})
    with pytest.raises(InvalidInput, match="SHA-256"):
        run(walk, forged)


def test_a_held_page_with_other_bytes_than_the_chain_names_is_a_rewritten_log() -> None:
    source = chain(2 * PAGE_CAPACITY + 1)
    held = source.held([0, 1])
    held[1] = HeldPage(1, source.hashes[1], True, held[1].prev, "00" * 32, held[1].prevh)
    walk = ChainWalk(ALICE.public_key, source.head, held)
    with pytest.raises(RolledBack, match="SHA-256"):
        run(walk, source)


def test_a_mixed_chain_of_version_1_and_version_2_pages_is_walked() -> None:
    old = [sign_post(Post(ALICE.public_key, s, 1, f"v1 {s}", version=1), ALICE) for s in range(64)]
    page0 = FeedPage(ALICE.public_key, 0, 0, PAGE_CAPACITY, None, tuple(old))
    assert page0.version == 1
    ih0 = hashlib.sha1(page0.encode()).hexdigest()
    page1 = FeedPage(
        ALICE.public_key,
        1,
        64,
        PAGE_CAPACITY,
        bytes.fromhex(ih0),
        (post(64),),
        prevh=page_sha256(page0.encode()),
    )
    assert page1.version == 2
    source = Chain([page0, page1], [ih0, hashlib.sha1(page1.encode()).hexdigest()])
    fetched, done = run(ChainWalk(ALICE.public_key, source.head, {}), source)
    assert (fetched, done.complete) == ([1, 0], True)


@pytest.mark.parametrize(
    ("seq", "stored", "offered", "judged", "news"),
    [
        (1, None, None, None, True),  # a first head
        (3, 2, None, None, True),
        (2, 2, None, None, False),  # the stored head again
        (1, 2, None, None, False),  # a rollback
        (4, 2, 4, None, False),  # the head waiting to be judged again
        (5, 2, 4, None, True),
        (4, 2, None, 4, False),  # the head a sync is judging now: no restart
        (5, 2, None, 4, True),  # newer than the judged head: ends its page wait
        (3, None, None, 3, False),  # a first sync, its head offered again
    ],
)
def test_an_offered_head_is_news_only_above_every_head_held_offered_or_judged(
    seq: int, stored: int | None, offered: int | None, judged: int | None, news: bool
) -> None:
    assert is_news(seq, stored, offered, judged) is news


@given(
    st.integers(0, 50),
    st.none() | st.integers(0, 50),
    st.none() | st.integers(0, 50),
    st.none() | st.integers(0, 50),
)
def test_is_news_is_seq_above_the_highest_known(
    seq: int, stored: int | None, offered: int | None, judged: int | None
) -> None:
    known = [s for s in (stored, offered, judged) if s is not None]
    assert is_news(seq, stored, offered, judged) == (seq > max(known, default=-1))

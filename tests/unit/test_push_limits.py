"""Push channel speed bumps: address tokens, token buckets, duplicate suppression."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.push.dedup import Seen, SeenHeads
from swarmfeed.core.push.ratelimit import KeyedLimiter, TokenBucket
from swarmfeed.core.push.tokens import AddressTokens

A = ("127.0.0.1", 7000)
B = ("127.0.0.1", 7001)
C = ("10.0.0.1", 7000)
V6 = ("::1", 7000)


def counting_entropy() -> tuple[AddressTokens, list[int]]:
    calls: list[int] = []
    counter = itertools.count()

    def entropy(size: int) -> bytes:
        calls.append(size)
        return next(counter).to_bytes(size, "big")

    return AddressTokens(rotate_every=300, entropy=entropy), calls


def test_a_token_is_bound_to_ip_and_port() -> None:
    tokens, _ = counting_entropy()
    token = tokens.issue(A, 0.0)
    assert len(token) == 8
    assert tokens.valid(token, A, 1.0)
    assert not tokens.valid(token, B, 1.0)  # same IP, another port
    assert not tokens.valid(token, C, 1.0)
    assert not tokens.valid(None, A, 1.0)
    assert not tokens.valid(b"", A, 1.0)
    assert not tokens.valid(token[:7], A, 1.0)
    assert tokens.valid(tokens.issue(V6, 2.0), V6, 3.0)


def test_tokens_live_one_to_two_rotations() -> None:
    tokens, calls = counting_entropy()
    token = tokens.issue(A, 0.0)
    assert tokens.valid(token, A, 299.0)
    assert tokens.valid(token, A, 300.0)  # rotated once: the previous secret still counts
    newer = tokens.issue(A, 300.0)
    assert newer != token
    assert tokens.valid(token, A, 599.0)
    assert not tokens.valid(token, A, 600.0)  # rotated twice
    assert tokens.valid(newer, A, 600.0)
    assert len(calls) == 3


def test_a_long_silence_replaces_both_secrets() -> None:
    tokens, _ = counting_entropy()
    token = tokens.issue(A, 0.0)
    assert not tokens.valid(token, A, 10_000.0)


def test_token_rotation_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        AddressTokens(rotate_every=0)


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5)  # one token refilled
    assert not bucket.take(0.5)
    assert bucket.take(100.0) and bucket.take(100.0) and bucket.take(100.0)
    assert not bucket.take(100.0)  # refill stops at the burst


def test_a_clock_going_backwards_refills_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=1.0)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)
    assert not bucket.take(10.5)
    assert bucket.take(11.0)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (-1.0, 5.0), (1.0, 0.5)])
def test_bucket_parameters_are_checked(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="bucket"):
        TokenBucket(rate, burst)
    with pytest.raises(ValueError, match="bucket"):
        KeyedLimiter(rate, burst)


@given(st.lists(st.tuples(st.floats(0, 0.5), st.floats(0.1, 3)), max_size=60))
def test_a_bucket_never_allows_more_than_burst_plus_rate_times_time(
    steps: list[tuple[float, float]],
) -> None:
    bucket = TokenBucket(rate=4.0, burst=5.0)
    now = spent = 0.0
    for delay, cost in steps:
        now += delay
        if bucket.take(now, cost):
            spent += cost
        assert spent <= 5.0 + 4.0 * now + 1e-9


def test_senders_have_separate_buckets_and_the_table_is_bounded() -> None:
    limiter: KeyedLimiter[str] = KeyedLimiter(rate=1.0, burst=2.0, max_keys=3)
    assert limiter.allow("a", 0.0) and limiter.allow("a", 0.0)
    assert not limiter.allow("a", 0.0)
    assert limiter.allow("b", 0.0)  # a flood from "a" does not touch "b"
    for key in "cdefg":
        limiter.allow(key, 0.0)
    assert len(limiter) == 3
    assert limiter.allow("a", 0.0)  # forgotten, so it starts over with a full bucket
    with pytest.raises(ValueError, match="max_keys"):
        KeyedLimiter(1.0, 1.0, max_keys=0)


KEY = b"k" * 32


def test_dedup_tells_new_duplicate_older_and_conflicting_heads() -> None:
    seen = SeenHeads()
    assert seen.judge(KEY, 5, b"v5") is Seen.NEW
    assert seen.newest(KEY) is None
    assert seen.record(KEY, 5, b"v5")
    assert seen.newest(KEY) == 5
    assert seen.judge(KEY, 5, b"v5") is Seen.DUPLICATE
    assert seen.judge(KEY, 5, b"other") is Seen.CONFLICT
    assert seen.judge(KEY, 4, b"v4") is Seen.OLDER
    assert seen.judge(KEY, 6, b"v6") is Seen.NEW
    assert not seen.record(KEY, 5, b"v5")  # never goes backwards
    assert not seen.record(KEY, 4, b"v4")
    assert seen.newest(KEY) == 5
    seen.forget(KEY)
    assert seen.judge(KEY, 1, b"v1") is Seen.NEW


def test_dedup_is_bounded_per_author() -> None:
    seen = SeenHeads(max_authors=2)
    for index in range(3):
        seen.record(bytes([index]) * 32, 1, b"v")
    assert seen.newest(b"\x00" * 32) is None
    assert seen.newest(b"\x02" * 32) == 1
    with pytest.raises(ValueError, match="max_authors"):
        SeenHeads(max_authors=0)


@given(st.lists(st.tuples(st.integers(0, 20), st.sampled_from([b"a", b"b"])), max_size=50))
def test_dedup_newest_only_grows(heads: list[tuple[int, bytes]]) -> None:
    seen = SeenHeads()
    newest = None
    for seq, value in heads:
        verdict = seen.judge(KEY, seq, value)
        assert (verdict is Seen.NEW) == (newest is None or seq > newest)
        if seen.record(KEY, seq, value):
            newest = seq
        assert seen.newest(KEY) == newest

"""Automatic media fetching: size cap, per-author budget, priorities (core/budget)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.budget import (
    FetchBudget,
    Priority,
    decide_fetch,
    may_start,
    order_time,
    priority,
)

BUDGET = FetchBudget(max_post_bytes=100, author_bytes=250, active=2, urgent_extra=1)


def test_small_media_within_budget_is_fetched() -> None:
    assert decide_fetch(100, 150, BUDGET).automatic


def test_media_over_the_post_cap_waits_to_be_opened() -> None:
    decision = decide_fetch(101, 0, BUDGET)
    assert not decision.automatic
    assert decision.reason is not None and "101 Bytes is over the 100 Bytes" in decision.reason


def test_media_over_the_author_budget_waits_to_be_opened() -> None:
    decision = decide_fetch(60, 200, BUDGET)
    assert not decision.automatic
    assert decision.reason is not None and "budget" in decision.reason


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_an_author_can_never_be_fetched_beyond_its_budget(size: int, used: int) -> None:
    if decide_fetch(size, used, BUDGET).automatic:
        assert used + size <= BUDGET.author_bytes and size <= BUDGET.max_post_bytes


def test_future_dates_do_not_jump_ahead() -> None:
    assert order_time(2_000_000_000, 1_700_000_000) == 1_700_000_000
    assert order_time(1_600_000_000, 1_700_000_000) == 1_600_000_000


def test_fresh_posts_have_priority() -> None:
    now = 1_700_000_000
    assert priority(now - 30, now, now) is Priority.FRESH
    assert priority(now - 3600, now, now) is Priority.BACKLOG
    # A post claiming to be from the future is as fresh as its arrival, no more.
    assert priority(now + 10**9, now - 3600, now) is Priority.BACKLOG


def test_backlog_uses_shared_slots_and_urgent_fetches_get_more() -> None:
    assert may_start(1, Priority.BACKLOG, BUDGET)
    assert not may_start(2, Priority.BACKLOG, BUDGET)
    assert may_start(2, Priority.FRESH, BUDGET)
    assert may_start(2, Priority.OPENED, BUDGET)
    assert not may_start(3, Priority.OPENED, BUDGET)

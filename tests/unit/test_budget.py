"""Automatic media fetching: size cap, per-author budget, priorities (core/budget)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.budget import (
    REQUEST_WORTH_SECONDS,
    FetchBudget,
    Holding,
    Priority,
    Usage,
    choose_evictions,
    decide_fetch,
    eviction_order,
    keep_value,
    may_start,
    order_time,
    over_budget,
    priority,
)

BUDGET = FetchBudget(max_post_bytes=100, author_bytes=250, active=2, urgent_extra=1)


def test_small_media_within_budget_is_fetched() -> None:
    assert decide_fetch(100, 150, BUDGET).automatic


def test_media_over_the_post_cap_waits_to_be_opened() -> None:
    decision = decide_fetch(101, 0, BUDGET)
    assert not decision.automatic
    assert decision.reason is not None and "101 Bytes is over the 100 Bytes" in decision.reason


def test_media_over_the_author_budget_needs_room_first() -> None:
    decision = decide_fetch(60, 200, BUDGET)
    assert decision.automatic and decision.free_author == 10 and decision.free_total == 0


def test_media_larger_than_a_budget_waits_to_be_opened() -> None:
    small = FetchBudget(max_post_bytes=1000, author_bytes=50)
    decision = decide_fetch(60, 0, small)
    assert not decision.automatic
    assert decision.reason is not None and "author's budget" in decision.reason
    total = FetchBudget(max_post_bytes=1000, author_bytes=1000, total_bytes=50)
    decision = decide_fetch(60, Usage(), total)
    assert not decision.automatic
    assert decision.reason is not None and "storage budget" in decision.reason


@given(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 10**12))
def test_a_fetch_never_leaves_a_budget_exceeded(size: int, used: int, total_used: int) -> None:
    budget = FetchBudget(max_post_bytes=100, author_bytes=250, total_bytes=400)
    decision = decide_fetch(size, Usage(total_used, used), budget, author="a")
    if decision.automatic:
        assert size <= budget.max_post_bytes
        assert used + size - decision.free_author <= budget.author_bytes
        assert total_used + size - decision.free_total <= budget.total_bytes


def test_per_author_budgets_replace_the_default() -> None:
    budget = FetchBudget(author_bytes=100, authors={"aa": 1000})
    assert budget.author_limit("aa") == 1000
    assert budget.author_limit("bb") == 100
    assert decide_fetch(90, 900, budget, author="aa").free_author == 0
    assert decide_fetch(90, 90, budget, author="bb").free_author == 80


def test_a_mirrored_author_has_no_cap_and_no_author_budget() -> None:
    budget = FetchBudget(max_post_bytes=10, author_bytes=10, total_bytes=1000)
    decision = decide_fetch(500, Usage(900, 10**9), budget, author="m", mirrored=True)
    assert decision.automatic and decision.free_author == 0 and decision.free_total == 400
    unlimited = decide_fetch(10**12, Usage(), FetchBudget(), mirrored=True)
    assert unlimited.automatic and unlimited.free_total == 0


NOW = 1_700_000_000


def held(name: str, age_days: float, requests: int = 0, served: float = 0.0) -> Holding:
    return Holding(name, "a", 100, int(NOW - age_days * 86400), requests, 0, served)


def test_old_and_unrequested_media_goes_first() -> None:
    order = [h.infohash for h in eviction_order([held("new", 1), held("old", 30), held("mid", 5)])]
    assert order == ["old", "mid", "new"]


def test_a_request_is_worth_a_week_of_age() -> None:
    requested = held("requested", 10, requests=1)
    assert (
        keep_value(requested)
        == keep_value(held("x", 3))
        == requested.sort_time + (REQUEST_WORTH_SECONDS)
    )
    order = eviction_order([requested, held("fresh", 2), held("older", 4)])
    assert [h.infohash for h in order] == ["older", "requested", "fresh"]
    # Copies served to peers count as requests.
    assert keep_value(held("served", 10, served=2.0)) > keep_value(held("fresh", 2))


def test_a_recent_open_refreshes_old_media() -> None:
    opened = Holding("opened", "a", 100, NOW - 90 * 86400, 1, NOW, 0.0)
    assert eviction_order([opened, held("week", 7)])[0].infohash == "week"


def test_evictions_free_what_is_needed_least_valuable_first() -> None:
    holdings = [held(f"d{d}", d) for d in (1, 2, 3, 4, 5)]
    chosen = choose_evictions(150, holdings)
    assert chosen.infohashes == ("d5", "d4") and chosen.freed == 200 and chosen.enough
    assert choose_evictions(0, holdings).infohashes == ()
    everything = choose_evictions(10**6, holdings)
    assert not everything.enough and len(everything.infohashes) == 5


def test_new_media_displaces_only_what_is_worth_less() -> None:
    holdings = [held("d1", 1), held("d2", 2), held("d30", 30)]
    newer = keep_value(held("new", 1.5))
    chosen = choose_evictions(200, holdings, below=newer)
    assert chosen.infohashes == ("d30", "d2") and chosen.enough
    older = keep_value(held("new", 60))
    refused = choose_evictions(100, holdings, below=older)
    assert refused.infohashes == () and not refused.enough


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 5)), max_size=30), st.integers())
def test_evictions_take_a_least_valuable_prefix(items: list[tuple[int, int]], need: int) -> None:
    holdings = [Holding(f"h{i}", "a", 10, t, r) for i, (t, r) in enumerate(items)]
    chosen = choose_evictions(need, holdings)
    order = [h.infohash for h in eviction_order(holdings)]
    assert list(chosen.infohashes) == order[: len(chosen.infohashes)]
    assert chosen.enough == (chosen.freed >= need)


def test_over_budget_figures() -> None:
    budget = FetchBudget(author_bytes=100, total_bytes=1000)
    assert over_budget(Usage(1200, 150), budget) == 200
    assert over_budget(Usage(1200, 150), budget, "a") == 50
    assert over_budget(Usage(900, 50), budget) == 0
    assert over_budget(Usage(10**9), FetchBudget()) == 0


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
    budget = FetchBudget(active=2, urgent_extra=1, small_active=2)
    assert may_start(1, Priority.BACKLOG, budget)
    assert not may_start(2, Priority.BACKLOG, budget)
    assert may_start(2, Priority.FRESH, budget)
    assert may_start(2, Priority.OPENED, budget)
    assert not may_start(3, Priority.OPENED, budget)


def test_small_bundles_of_a_backlog_run_more_at_once_within_the_bytes_in_flight() -> None:
    budget = FetchBudget(active=2, urgent_extra=1, small_active=4, small_bytes=100)
    assert may_start(2, Priority.BACKLOG, budget, in_flight=40, size=10)
    assert may_start(3, Priority.BACKLOG, budget, in_flight=90, size=10)
    assert not may_start(3, Priority.BACKLOG, budget, in_flight=90, size=11)  # too many bytes
    assert not may_start(4, Priority.BACKLOG, budget, in_flight=4, size=1)  # too many fetches
    # Large bundles keep to ``active``; urgent ones may still start above the small backlog.
    assert not may_start(2, Priority.BACKLOG, budget, in_flight=0, size=101)
    assert may_start(4, Priority.FRESH, budget, in_flight=4, size=10**9)
    assert not may_start(5, Priority.FRESH, budget)

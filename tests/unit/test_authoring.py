"""The author's own log never goes backwards and never reuses a seq (core/authoring)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.authoring import (
    Blocked,
    HeadSeen,
    NotReady,
    OwnLogFacts,
    contiguous_count,
    plan_publication,
)


def facts(**changes: object) -> OwnLogFacts:
    base: dict[str, object] = {
        "seq_file": 5,
        "head_file": HeadSeen(5, 3),
        "database": HeadSeen(5, 3),
        "dht": None,
        "dht_answered": False,
        "posts_written": 3,
    }
    base.update(changes)
    return OwnLogFacts(**base)  # type: ignore[arg-type]


def test_intact_state_continues_after_the_last_post_and_seq() -> None:
    plan = plan_publication(facts())
    assert (plan.next_post_seq, plan.next_head_seq, plan.published) == (3, 6, 3)
    assert list(plan.unpublished) == []


def test_a_fresh_identity_starts_at_zero_without_waiting() -> None:
    plan = plan_publication(facts(seq_file=0, head_file=None, database=None, posts_written=0))
    assert (plan.next_post_seq, plan.next_head_seq) == (0, 1)


def test_a_lost_seq_file_waits_for_the_dht() -> None:
    with pytest.raises(NotReady, match="head_seq"):
        plan_publication(facts(seq_file=None, head_file=None))
    plan = plan_publication(
        facts(seq_file=None, head_file=None, dht=HeadSeen(14, 3), dht_answered=True)
    )
    assert plan.next_head_seq == 15


def test_the_dht_answering_nothing_still_lets_local_records_count() -> None:
    plan = plan_publication(facts(seq_file=None, head_file=None, dht_answered=True))
    assert plan.next_head_seq == 6  # the database's record


def test_posts_written_ahead_are_rolled_forward() -> None:
    plan = plan_publication(facts(posts_written=5))
    assert list(plan.unpublished) == [3, 4]
    assert plan.next_post_seq == 5


def test_missing_posts_block_publishing_with_a_reason() -> None:
    with pytest.raises(Blocked, match="covers 9 posts"):
        plan_publication(facts(dht=HeadSeen(20, 9), dht_answered=True))


@given(
    st.none() | st.integers(0, 1000),
    st.lists(
        st.none() | st.tuples(st.integers(0, 1000), st.integers(0, 50)), min_size=3, max_size=3
    ),
    st.integers(0, 60),
    st.booleans(),
)
def test_the_next_seq_is_above_every_source(
    seq_file: int | None,
    heads: list[tuple[int, int] | None],
    written: int,
    answered: bool,
) -> None:
    seen = [None if h is None else HeadSeen(*h) for h in heads]
    state = OwnLogFacts(seq_file, seen[0], seen[1], seen[2], answered, written)
    try:
        plan = plan_publication(state)
    except NotReady:
        assert seq_file is None and not answered
        return
    except Blocked:
        assert written < max(h.count for h in seen if h is not None)
        return
    for source in [seq_file, *(h.seq for h in seen if h is not None)]:
        if source is not None:
            assert plan.next_head_seq > source
    assert plan.next_post_seq == written
    assert all(written >= h.count for h in seen if h is not None)


@pytest.mark.parametrize(
    ("seqs", "count"), [([], 0), ([0, 1, 2], 3), ([1, 2], 0), ([0, 1, 3, 4], 2), ([2, 0, 1], 3)]
)
def test_contiguous_count(seqs: list[int], count: int) -> None:
    assert contiguous_count(seqs) == count

"""Serving policy: upload first to swarms with the fewest other seeds (core/serving)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.policy import NO_LIMIT, PLAIN_TORRENT
from swarmfeed.core.serving import (
    BACKGROUND_UNCHOKES,
    MIN_BACKGROUND_RATE,
    SwarmFacts,
    is_covered,
    serving_plan,
)

MiB = 1024 * 1024


def test_a_swarm_is_covered_by_enough_other_seeds() -> None:
    assert not is_covered(SwarmFacts("s", downloaders=5, other_seeds=0))
    assert not is_covered(SwarmFacts("s", downloaders=5, other_seeds=1))
    assert is_covered(SwarmFacts("s", downloaders=1, other_seeds=1))
    assert is_covered(SwarmFacts("s", downloaders=50, other_seeds=2))
    # Seeds we never meet show as pieces the downloaders got from elsewhere.
    assert is_covered(SwarmFacts("s", downloaders=5, other_seeds=0, outside=0.6))
    assert not is_covered(SwarmFacts("s", downloaders=5, other_seeds=0, outside=0.1))


def test_covered_swarms_yield_to_a_scarce_one() -> None:
    plan = serving_plan(
        [
            SwarmFacts("viral", downloaders=6, other_seeds=0),
            SwarmFacts("popular", downloaders=4, other_seeds=5),
            SwarmFacts("also", downloaders=2, other_seeds=2),
            SwarmFacts("idle", downloaders=0, other_seeds=0),
        ],
        upload_limit=8 * MiB,
    )
    assert plan["viral"] == PLAIN_TORRENT and plan["idle"] == PLAIN_TORRENT
    for key in ("popular", "also"):
        assert plan[key].max_uploads == BACKGROUND_UNCHOKES
        assert plan[key].upload_limit == 8 * MiB // 8 // 2


def test_without_an_upload_limit_only_unchoke_slots_steer() -> None:
    plan = serving_plan([SwarmFacts("old", 3, 0), SwarmFacts("popular", 3, 4)], upload_limit=0)
    assert plan["popular"].upload_limit == NO_LIMIT
    assert plan["popular"].max_uploads == BACKGROUND_UNCHOKES


def test_nothing_is_held_back_when_nothing_scarce_is_wanted() -> None:
    swarms = [SwarmFacts("a", 3, 4), SwarmFacts("b", 0, 0), SwarmFacts("c", 2, 2)]
    assert set(serving_plan(swarms, 4 * MiB).values()) == {PLAIN_TORRENT}
    lone = [SwarmFacts("only", 3, 0)]
    assert serving_plan(lone, 4 * MiB) == {"only": PLAIN_TORRENT}


swarm = st.builds(
    SwarmFacts, st.text(min_size=1, max_size=4), st.integers(0, 50), st.integers(0, 50)
)


@given(st.lists(swarm, max_size=20, unique_by=lambda s: s.key), st.integers(0, 10**9))
def test_every_plan_holds_back_only_covered_swarms_and_keeps_a_floor(
    swarms: list[SwarmFacts], limit: int
) -> None:
    plan = serving_plan(swarms, limit)
    assert set(plan) == {s.key for s in swarms}
    for s in swarms:
        tuning = plan[s.key]
        if tuning != PLAIN_TORRENT:
            assert is_covered(s) and s.downloaders > 0
            assert any(not is_covered(o) and o.downloaders > 0 for o in swarms)
            assert tuning.upload_limit == NO_LIMIT or tuning.upload_limit >= MIN_BACKGROUND_RATE

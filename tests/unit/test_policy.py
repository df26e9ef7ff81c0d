"""The seeding policy: which torrents are super-seeded and how the session chokes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.policy import (
    FRESH_SECONDS,
    LIBTORRENT_DEFAULTS,
    PLAIN_TORRENT,
    SeedPolicy,
    TorrentFacts,
    parse_policy,
    session_tuning,
    torrent_tuning,
)
from swarmfeed.errors import InvalidInput

# The author's fresh post, seeded by the author, wanted by a crowd that has no full copy yet.
VIRAL = TorrentFacts(
    authored=True, hybrid=True, age=5.0, seeding=True, peers=20, distributed_copies=0.4
)


def test_policy_names_parse_case_insensitively() -> None:
    assert parse_policy(" Adaptive ") is SeedPolicy.ADAPTIVE
    assert parse_policy("plain") is SeedPolicy.PLAIN
    assert parse_policy("SUPER") is SeedPolicy.SUPER
    with pytest.raises(InvalidInput, match="one of plain, super, adaptive"):
        parse_policy("greedy")


def test_session_choking_is_libtorrents_for_every_policy() -> None:
    assert {session_tuning(policy) for policy in SeedPolicy} == {LIBTORRENT_DEFAULTS}


def test_adaptive_super_seeds_a_fresh_post_from_the_start() -> None:
    assert torrent_tuning(SeedPolicy.ADAPTIVE, VIRAL).super_seeding
    # Before any follower connects, and after a full copy is out, while the post is fresh.
    assert torrent_tuning(SeedPolicy.ADAPTIVE, replace(VIRAL, peers=0, age=0.0)).super_seeding
    assert torrent_tuning(SeedPolicy.ADAPTIVE, replace(VIRAL, distributed_copies=3.0)).super_seeding


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"authored": False}, "followers never super-seed"),
        ({"hybrid": False}, "feed pages are never super-seeded"),
        ({"seeding": False}, "only a complete copy can be super-seeded"),
        ({"age": FRESH_SECONDS + 1}, "old posts are seeded normally"),
    ],
)
def test_adaptive_seeds_normally_when(change: dict[str, object], why: str) -> None:
    facts = replace(VIRAL, **change)  # type: ignore[arg-type]
    assert torrent_tuning(SeedPolicy.ADAPTIVE, facts) == PLAIN_TORRENT, why


def test_plain_never_and_super_always_super_seeds_own_media() -> None:
    assert torrent_tuning(SeedPolicy.PLAIN, VIRAL) == PLAIN_TORRENT
    old_and_spread = replace(VIRAL, age=10 * FRESH_SECONDS, distributed_copies=5.0, peers=1)
    assert torrent_tuning(SeedPolicy.SUPER, old_and_spread).super_seeding
    assert not torrent_tuning(SeedPolicy.SUPER, replace(VIRAL, authored=False)).super_seeding


@given(
    authored=st.booleans(),
    hybrid=st.booleans(),
    age=st.floats(min_value=0, max_value=1e6),
    seeding=st.booleans(),
    peers=st.integers(min_value=0, max_value=500),
    copies=st.floats(min_value=-1, max_value=100),
    policy=st.sampled_from(list(SeedPolicy)),
)
def test_super_seeding_is_only_ever_for_own_complete_media(
    authored: bool,
    hybrid: bool,
    age: float,
    seeding: bool,
    peers: int,
    copies: float,
    policy: SeedPolicy,
) -> None:
    facts = TorrentFacts(authored, hybrid, age, seeding, peers, copies)
    tuning = torrent_tuning(policy, facts)
    if tuning.super_seeding:
        assert authored and hybrid and seeding
        assert policy is not SeedPolicy.PLAIN
        if policy is SeedPolicy.ADAPTIVE:
            assert age < FRESH_SECONDS

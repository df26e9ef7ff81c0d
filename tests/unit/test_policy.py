"""The seeding policy: session tuning during a fresh post's swarm and the author's step back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.policy import (
    FRESH_SECONDS,
    FRESH_SWARM,
    LIBTORRENT_DEFAULTS,
    PLAIN_TORRENT,
    SERVING_FRESH_POST,
    STEP_BACK_RATE,
    SeedPolicy,
    TorrentFacts,
    is_fresh_media,
    is_fresh_own_media,
    least_held,
    parse_policy,
    session_tuning,
    torrent_tuning,
)
from swarmfeed.errors import InvalidInput

FOUR_MIB = 4 * 1024 * 1024

# The author's fresh post, seeded by the author, wanted by a crowd: one piece is still only here.
VIRAL = TorrentFacts(
    authored=True,
    hybrid=True,
    age=5.0,
    seeding=True,
    peers=20,
    least_held=0,
    session_upload_limit=FOUR_MIB,
)


def test_policy_names_parse_case_insensitively() -> None:
    assert parse_policy(" Adaptive ") is SeedPolicy.ADAPTIVE
    assert parse_policy("plain") is SeedPolicy.PLAIN
    assert parse_policy("SUPER") is SeedPolicy.SUPER
    with pytest.raises(InvalidInput, match="one of plain, super, adaptive"):
        parse_policy("greedy")


def test_libtorrent_defaults_are_libtorrents() -> None:
    # libtorrent 2.x defaults, so "plain" really is plain libtorrent.
    assert LIBTORRENT_DEFAULTS.unchoke_slots == 8
    assert LIBTORRENT_DEFAULTS.unchoke_interval == 15
    assert LIBTORRENT_DEFAULTS.max_queued_requests == 2000
    assert LIBTORRENT_DEFAULTS.whole_pieces_threshold == 20
    assert LIBTORRENT_DEFAULTS.tick_interval_ms == 500


@pytest.mark.parametrize("policy", [SeedPolicy.PLAIN, SeedPolicy.SUPER])
def test_only_adaptive_tunes_the_session(policy: SeedPolicy) -> None:
    tuned = session_tuning(policy, fresh_swarm=True, serving_fresh_post=True)
    assert tuned == LIBTORRENT_DEFAULTS


def test_adaptive_session_follows_the_fresh_swarms() -> None:
    adaptive = SeedPolicy.ADAPTIVE
    assert session_tuning(adaptive) == LIBTORRENT_DEFAULTS
    assert session_tuning(adaptive, fresh_swarm=True) == FRESH_SWARM
    serving = session_tuning(adaptive, fresh_swarm=True, serving_fresh_post=True)
    assert serving == SERVING_FRESH_POST
    # Quick rechoking and rarest-first picks while a fresh swarm runs; the author also takes
    # at most one piece's worth of queued requests per peer.
    assert FRESH_SWARM.unchoke_interval < LIBTORRENT_DEFAULTS.unchoke_interval
    assert FRESH_SWARM.whole_pieces_threshold == 0
    assert FRESH_SWARM.max_queued_requests == LIBTORRENT_DEFAULTS.max_queued_requests
    assert SERVING_FRESH_POST.max_queued_requests * 16 * 1024 == 64 * 1024


def test_fresh_media_is_a_young_hybrid_torrent() -> None:
    assert is_fresh_media(VIRAL) and is_fresh_own_media(VIRAL)
    follower_copy = replace(VIRAL, authored=False, seeding=False)
    assert is_fresh_media(follower_copy) and not is_fresh_own_media(follower_copy)
    assert not is_fresh_media(replace(VIRAL, hybrid=False))  # a feed page
    assert not is_fresh_media(replace(VIRAL, age=FRESH_SECONDS))


def test_adaptive_author_serves_at_full_rate_until_every_piece_is_out() -> None:
    assert torrent_tuning(SeedPolicy.ADAPTIVE, VIRAL) == PLAIN_TORRENT
    assert torrent_tuning(SeedPolicy.ADAPTIVE, replace(VIRAL, least_held=-1)) == PLAIN_TORRENT


def test_adaptive_author_steps_back_once_every_piece_is_held() -> None:
    stepped = torrent_tuning(SeedPolicy.ADAPTIVE, replace(VIRAL, least_held=1))
    assert stepped.upload_limit == FOUR_MIB // 8
    assert not stepped.super_seeding
    unlimited = replace(VIRAL, least_held=3, session_upload_limit=0)
    assert torrent_tuning(SeedPolicy.ADAPTIVE, unlimited).upload_limit == STEP_BACK_RATE
    # A piece not held by any connected peer yet: full rate.
    assert torrent_tuning(SeedPolicy.ADAPTIVE, replace(VIRAL, least_held=0)) == PLAIN_TORRENT


def test_adaptive_author_stays_back_once_it_stepped_back() -> None:
    # Followers that finished dropped their connection to the author (two seeds keep none):
    # fewer holders are seen, but the pieces are still out there.
    back = replace(VIRAL, least_held=0, stepped_back=True)
    assert torrent_tuning(SeedPolicy.ADAPTIVE, back).upload_limit == FOUR_MIB // 8
    # ... while the post is fresh.
    assert torrent_tuning(SeedPolicy.ADAPTIVE, replace(back, age=FRESH_SECONDS)) == PLAIN_TORRENT


def test_adaptive_author_steps_back_once_a_copy_left_and_nobody_downloads() -> None:
    served = replace(VIRAL, least_held=0, uploaded_copies=1.0, downloaders=0)
    assert torrent_tuning(SeedPolicy.ADAPTIVE, served).upload_limit == FOUR_MIB // 8
    # A copy's worth sent while followers still download: some piece may not have left yet.
    assert torrent_tuning(SeedPolicy.ADAPTIVE, replace(served, downloaders=3)) == PLAIN_TORRENT
    assert torrent_tuning(SeedPolicy.ADAPTIVE, replace(served, uploaded_copies=0.9)) == (
        PLAIN_TORRENT
    )
    assert torrent_tuning(SeedPolicy.PLAIN, served) == PLAIN_TORRENT


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"authored": False}, "followers never step back"),
        ({"hybrid": False}, "feed pages are seeded plainly"),
        ({"seeding": False}, "only a complete copy is ours to hold back"),
        ({"age": FRESH_SECONDS + 1}, "old posts are seeded plainly"),
    ],
)
def test_adaptive_seeds_plainly_when(change: dict[str, object], why: str) -> None:
    facts = replace(VIRAL, least_held=5, **change)  # type: ignore[arg-type]
    assert torrent_tuning(SeedPolicy.ADAPTIVE, facts) == PLAIN_TORRENT, why


def test_plain_never_and_super_always_super_seeds_own_media() -> None:
    assert torrent_tuning(SeedPolicy.PLAIN, replace(VIRAL, least_held=5)) == PLAIN_TORRENT
    old_and_spread = replace(VIRAL, age=10 * FRESH_SECONDS, least_held=5, peers=1)
    assert torrent_tuning(SeedPolicy.SUPER, old_and_spread).super_seeding
    assert not torrent_tuning(SeedPolicy.SUPER, replace(VIRAL, authored=False)).super_seeding


def test_least_held_counts_holders_per_piece() -> None:
    assert least_held([], 3) == 0
    assert least_held([[True, True, False], [True, False, False]], 3) == 0
    assert least_held([[True, True, True], [True, False, True]], 3) == 1
    assert least_held([[True] * 4, [True] * 4], 4) == 2
    assert least_held([[True, True]], 0) == 0
    # A short bitfield (peer without metadata yet) holds nothing beyond its end.
    assert least_held([[True], [True, True]], 2) == 1


@given(
    bitfields=st.lists(st.lists(st.booleans(), min_size=5, max_size=5), max_size=8),
)
def test_least_held_is_the_minimum_column_sum(bitfields: list[list[bool]]) -> None:
    expected = min(sum(bits[i] for bits in bitfields) for i in range(5))
    assert least_held(bitfields, 5) == expected


@given(
    authored=st.booleans(),
    hybrid=st.booleans(),
    age=st.floats(min_value=0, max_value=1e6),
    seeding=st.booleans(),
    peers=st.integers(min_value=0, max_value=500),
    held=st.integers(min_value=-1, max_value=100),
    limit=st.integers(min_value=0, max_value=1 << 30),
    policy=st.sampled_from(list(SeedPolicy)),
)
def test_only_own_complete_media_is_ever_held_back(
    authored: bool,
    hybrid: bool,
    age: float,
    seeding: bool,
    peers: int,
    held: int,
    limit: int,
    policy: SeedPolicy,
) -> None:
    facts = TorrentFacts(authored, hybrid, age, seeding, peers, held, limit)
    tuning = torrent_tuning(policy, facts)
    if tuning != PLAIN_TORRENT:
        assert authored and hybrid and seeding
        assert policy is not SeedPolicy.PLAIN
    if tuning.upload_limit:
        assert policy is SeedPolicy.ADAPTIVE and held >= 1 and age < FRESH_SECONDS
        assert 0 < tuning.upload_limit <= max(limit, STEP_BACK_RATE)
    if tuning.super_seeding:
        assert policy is SeedPolicy.SUPER

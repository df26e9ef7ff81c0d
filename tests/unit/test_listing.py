"""Torrent listings: which statuses a page shows and in what order, from cached statuses."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.engine.types import TorrentStatus
from swarmfeed.node.listing import (
    MAX_LIMIT,
    in_progress,
    is_active,
    listing_key,
    select_torrents,
)

SEEDING = TorrentStatus(
    infohash="00" * 20,
    name="t",
    state="seeding",
    progress=1.0,
    total_wanted=100,
    total_done=100,
    download_rate=0,
    upload_rate=0,
    total_upload=0,
    total_download=0,
    all_time_upload=0,
    num_peers=0,
    num_seeds=0,
    is_seeding=True,
    has_metadata=True,
    distributed_copies=0.0,
    error=None,
    save_path="/tmp",
)


def seeding(n: int, served: int = 0, upload_rate: int = 0) -> TorrentStatus:
    return replace(SEEDING, infohash=f"{n:040x}", all_time_upload=served, upload_rate=upload_rate)


def downloading(n: int, progress: float = 0.5, rate: int = 0) -> TorrentStatus:
    return replace(
        SEEDING,
        infohash=f"{n:040x}",
        state="downloading",
        progress=progress,
        is_seeding=False,
        download_rate=rate,
    )


def test_transfers_in_progress_come_first_then_the_most_served_then_by_infohash() -> None:
    statuses = [seeding(1), seeding(2, served=10), downloading(3), seeding(4, served=99)]
    statuses += [downloading(5, rate=7), seeding(6), seeding(0, served=10)]

    chosen = select_torrents(statuses)

    assert chosen.total == 7
    assert [int(s.infohash, 16) for s in chosen.statuses] == [3, 5, 4, 0, 2, 1, 6]


def test_a_page_is_limit_rows_from_offset_and_counts_them_all() -> None:
    statuses = [seeding(n) for n in range(10)]

    page = select_torrents(statuses, limit=3, offset=4)

    assert page.total == 10
    assert [int(s.infohash, 16) for s in page.statuses] == [4, 5, 6]
    past = select_torrents(statuses, limit=3, offset=10)
    assert past.total == 10 and past.statuses == []


def test_active_keeps_transfers_and_torrents_with_traffic() -> None:
    idle, uploading = seeding(1, served=50), seeding(2, upload_rate=1)
    fetching, stalled = downloading(3, rate=5), downloading(4)
    paused_complete = replace(seeding(5), state="paused")
    statuses = [idle, uploading, fetching, stalled, paused_complete]

    chosen = select_torrents(statuses, active=True)

    assert chosen.total == 3
    assert chosen.statuses == [fetching, stalled, uploading]


def test_what_counts_as_in_progress() -> None:
    assert in_progress(downloading(1, progress=0.0))
    assert in_progress(replace(downloading(1), state="error", error="disk full"))
    assert not in_progress(seeding(1))
    # All wanted files done but not every file wanted (libtorrent's "finished").
    assert not in_progress(replace(downloading(1, progress=1.0), state="finished"))
    assert is_active(seeding(1, upload_rate=3)) and not is_active(seeding(1))


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (MAX_LIMIT + 1, 0), (10, -1)])
def test_out_of_range_pages_are_refused(limit: int, offset: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        select_torrents([seeding(1)], limit=limit, offset=offset)


statuses_strategy = st.lists(
    st.builds(
        lambda n, served, progress: (
            downloading(n, progress) if progress < 1 else seeding(n, served)
        ),
        st.integers(0, 10**6),
        st.integers(0, 10**9),
        st.sampled_from([0.0, 0.3, 1.0]),
    ),
    max_size=60,
    unique_by=lambda s: s.infohash,
)


@given(statuses_strategy, st.integers(1, 25))
def test_pages_cover_the_listing_once_in_order(statuses: list[TorrentStatus], per: int) -> None:
    whole = select_torrents(statuses, limit=MAX_LIMIT)
    pages: list[TorrentStatus] = []
    for offset in range(0, len(statuses) + per, per):
        page = select_torrents(statuses, limit=per, offset=offset)
        assert page.total == len(statuses)
        pages += page.statuses
    assert pages == whole.statuses == sorted(statuses, key=listing_key)

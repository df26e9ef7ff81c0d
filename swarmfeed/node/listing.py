"""Which torrents a listing shows, in what order: decided from cached statuses alone.

A seedbox holds one torrent per feed page and media bundle, tens of thousands of them. A
listing sorts and slices the engine's cached statuses (no libtorrent call, no database) and
only the rows it returns are then joined with what they are to swarmfeed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from swarmfeed.engine.types import TorrentStatus
from swarmfeed.store.database import TorrentRow

DEFAULT_LIMIT = 500
"""Rows a listing returns unless asked for fewer or more."""

MAX_LIMIT = 1000
"""The most rows one listing returns."""

TOTAL_HEADER = "X-Total-Count"
"""The HTTP response header that gives a listing's whole size next to one page of it."""


def in_progress(status: TorrentStatus) -> bool:
    """Return True while a torrent still has wanted bytes to download (or failed to)."""
    return not status.is_seeding and status.progress < 1.0


def is_active(status: TorrentStatus) -> bool:
    """Return True for a transfer in progress or a torrent with traffic now."""
    return in_progress(status) or status.download_rate > 0 or status.upload_rate > 0


def listing_key(status: TorrentStatus) -> tuple[bool, int, str]:
    """Order transfers in progress first, then the most served, then by infohash."""
    return (not in_progress(status), -status.all_time_upload, status.infohash)


TorrentEntry = tuple[TorrentRow | None, TorrentStatus]
"""A torrent in the engine with what it is to swarmfeed (None: a torrent it does not know)."""


@dataclass(frozen=True)
class TorrentListing:
    """One page of a listing joined with the database, and the whole listing's size."""

    total: int
    entries: list[TorrentEntry]


@dataclass(frozen=True)
class TorrentSlice:
    """One page of a listing and how many torrents the whole listing has."""

    total: int
    statuses: list[TorrentStatus]


def select_torrents(
    statuses: Iterable[TorrentStatus],
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    active: bool = False,
) -> TorrentSlice:
    """Return ``limit`` statuses from ``offset`` in listing order (only active ones if asked)."""
    if not 0 <= limit <= MAX_LIMIT or offset < 0:
        raise ValueError(f"limit must be 0..{MAX_LIMIT} and offset at least 0")
    chosen = [s for s in statuses if is_active(s)] if active else list(statuses)
    end = offset + limit
    # The first pages (what the UI polls) need no full sort: 1.5 ms instead of 5 for 10,000.
    if end * 4 < len(chosen):
        ordered = heapq.nsmallest(end, chosen, key=listing_key)
    else:
        ordered = sorted(chosen, key=listing_key)
    return TorrentSlice(len(chosen), ordered[offset:end])

"""Bytes uploaded and downloaded per author, summed from torrent statuses.

libtorrent counts payload bytes per torrent and session; swarmfeed wants them per author (who
is being served, whose content is fetched). The ledger keeps each torrent's last counts and
adds the difference to its author's totals whenever it sees a newer status; a torrent that
restarts its session counters (removed and added again) is counted from zero again. Totals
only grow, as Prometheus counters must.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from swarmfeed.engine.types import TorrentStatus

UNKNOWN = "unknown"
"""The author label of torrents the index does not know (a leftover being reconciled)."""


class TrafficLedger:
    """Per-author byte totals, up and down, since start."""

    def __init__(self, owner: Callable[[str], str | None]) -> None:
        self._owner = owner
        self._authors: dict[str, str] = {}
        self._last: dict[str, tuple[int, int]] = {}
        self.uploaded: dict[str, int] = {}
        self.downloaded: dict[str, int] = {}

    def observe(self, statuses: Iterable[TorrentStatus]) -> None:
        """Add what each torrent moved since its last observed status."""
        for status in statuses:
            key = status.infohash
            author = self._authors.get(key)
            if author is None:
                author = self._owner(key) or UNKNOWN
                if author != UNKNOWN:
                    self._authors[key] = author
            up, down = status.total_upload, status.total_download
            last_up, last_down = self._last.get(key, (0, 0))
            if up < last_up or down < last_down:  # counters restarted
                last_up, last_down = 0, 0
            self._last[key] = (up, down)
            if up > last_up:
                self.uploaded[author] = self.uploaded.get(author, 0) + up - last_up
            if down > last_down:
                self.downloaded[author] = self.downloaded.get(author, 0) + down - last_down

"""The serving policy applied: facts from libtorrent in, core/serving.py's plan applied.

Every few seconds the torrents this node seeds to connected peers are looked at (downloaders,
connected and known seeds) and each gets the per-torrent upload limit and unchoke cap the plan
gives; a torrent that leaves the plan is put back to plain seeding. The node's own media is
left to the seeding policy (core/policy.py), which tunes it while it is fresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import libtorrent as lt

from swarmfeed.core.policy import PLAIN_TORRENT, TorrentTuning
from swarmfeed.core.serving import SwarmFacts, serving_plan
from swarmfeed.engine.status import StatusCache
from swarmfeed.engine.table import EngineState

SERVE_INTERVAL = 2.0
"""Seconds between serving rounds (a fresh swarm is rechoked every 2 s, core/policy.py)."""


def outside_share(handle: Any, uploaded: int) -> float:
    """Return the share of the downloaders' distinct pieces beyond what we uploaded (0-1)."""
    info = handle.torrent_file()
    if info is None:
        return 0.0
    pieces = info.num_pieces()
    held = [False] * pieces
    for peer in handle.get_peer_info():
        if peer.flags & lt.peer_info.seed:
            continue
        for index, has in enumerate(list(peer.pieces)[:pieces]):
            held[index] = held[index] or bool(has)
    union = sum(held) * int(info.piece_length())
    if union <= 0:
        return 0.0
    return max(0.0, union - uploaded) / union


class ServingAdapter:
    """Applies serving plans to libtorrent handles and remembers what it applied."""

    def __init__(self, state: EngineState, statuses: StatusCache) -> None:
        self.state = state
        self.statuses = statuses
        self.log = state.log
        self.applied: dict[str, TorrentTuning] = {}
        """Torrents currently held back, with their tuning."""

    async def rounds(self) -> None:
        """Steer upload to the swarms with the fewest other seeds, every SERVE_INTERVAL."""
        while True:
            await asyncio.sleep(SERVE_INTERVAL)  # serving re-evaluation cadence
            if self.state.session is None:
                continue
            try:
                self.round(self._candidates(), self.state.config.upload_rate_limit)
            except (RuntimeError, ValueError):  # a handle that went away mid-round
                self.log.exception("serving round failed; the next one starts afresh")

    def _candidates(self) -> list[tuple[str, Any]]:
        """Return the torrents not our own that have peers or a tuning to undo.

        Only these are looked at: the status cache knows which torrents have connected peers,
        so a round costs in proportion to active swarms, not to torrents held.
        """
        table = self.state.table
        keys = self.statuses.connected | set(self.applied)
        found = [t for key in keys if (t := table.get(key)) is not None]
        return [(t.key, t.handle) for t in found if not t.authored]

    def round(self, torrents: Iterable[tuple[str, Any]], upload_limit: int) -> None:
        """Decide and apply one round over ``(key, handle)`` of the torrents not our own."""
        facts: list[SwarmFacts] = []
        handles: dict[str, Any] = {}
        for key, handle in torrents:
            if not handle.is_valid():
                continue
            status = handle.status()
            handles[key] = handle
            if not status.is_seeding or status.num_peers == 0:
                continue
            facts.append(
                SwarmFacts(
                    key,
                    downloaders=int(status.num_peers) - int(status.num_seeds),
                    other_seeds=max(int(status.num_seeds), int(status.list_seeds)),
                    outside=outside_share(handle, int(status.total_payload_upload)),
                )
            )
        plan = serving_plan(facts, upload_limit)
        for key in list(self.applied):
            if key not in plan:
                plan[key] = PLAIN_TORRENT
        for key, tuning in plan.items():
            handle = handles.get(key)
            if handle is None:
                self.applied.pop(key, None)
                continue
            if self.applied.get(key, PLAIN_TORRENT) == tuning:
                continue
            handle.set_max_uploads(tuning.max_uploads)
            handle.set_upload_limit(tuning.upload_limit)
            if tuning == PLAIN_TORRENT:
                self.applied.pop(key, None)
            else:
                self.applied[key] = tuning
            self.log.debug("serving %s: %s", key[:16], tuning)

    def forget(self, key: str) -> None:
        """Drop what is known of a removed torrent."""
        self.applied.pop(key, None)

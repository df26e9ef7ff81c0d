"""DHT upkeep: stay joined, announce fresh torrents eagerly, keep old ones out if asked to.

- libtorrent pings the nodes given to ``add_dht_node`` once; a node started before its
  bootstrap nodes were listening (or cut off for a while) keeps an empty routing table, and every
  BEP 5 lookup then finds nobody. While the table stays near empty the bootstrap nodes are
  contacted again, with a doubling pause.
- libtorrent announces a torrent when added and then every 15 minutes; an announce made while
  the routing table is still empty is lost, and a magnet whose first lookup found nobody would
  wait that long. Fresh torrents without peers are announced again.
- With ``dht_fresh_only`` a torrent leaves the DHT (``disable_dht``) when it stops being fresh:
  announces then grow with fresh posts, not with posts held.
"""

from __future__ import annotations

import asyncio
import socket

import libtorrent as lt

from swarmfeed.core import bencoding
from swarmfeed.engine.settings import PUBLIC_ROUTERS
from swarmfeed.engine.stats import SessionStats
from swarmfeed.engine.table import Endpoint, EngineState, Torrent
from swarmfeed.engine.waiters import Waiters
from swarmfeed.errors import InvalidInput

REJOIN_FIRST = 2.0
"""Seconds before a node with a near-empty DHT routing table contacts its bootstrap nodes again."""
REJOIN_MAX = 120.0
"""Longest pause between such attempts (the pause doubles after each one)."""


def _split_endpoint(text: str) -> Endpoint:
    host, _, port = text.rpartition(":")
    return host, int(port)


def wants_reannounce(torrent: Torrent) -> bool:
    """Return whether a fresh torrent is re-announced this round: it is still looking for its
    swarm (no metadata, held, or downloading without a peer), or it is seeded from files it
    did not download (our own post, content added complete) and nobody is connected. A copy
    this node downloaded announced itself while downloading, and a restored one in the session
    before: they are left to libtorrent's own schedule."""
    status = torrent.status
    if not torrent.dht:
        return False
    if status is None or not status.has_metadata or torrent.held:
        return True  # looking for the swarm (a held magnet counts as seeding)
    # Restored from resume data: it was announced in the session before (and libtorrent
    # announces it again at start); re-announcing every restored page after a restart measured
    # ~330 DHT packets/s on a node holding 10,200 torrents.
    announced = torrent.completed_at is not None or torrent.restored
    if status.is_seeding and announced and not torrent.authored:
        return False
    return not status.num_peers


class DhtUpkeep:
    """Keeps the session in the DHT and decides which torrents are announced there."""

    def __init__(self, state: EngineState, stats: SessionStats) -> None:
        self.state = state
        self.stats = stats
        self.nodes_waiters: Waiters[int] = Waiters()
        self._rejoin_at = 0.0
        self._rejoin_pause = REJOIN_FIRST

    def start(self) -> None:
        """Contact the bootstrap nodes and listen for the routing table's size."""
        session = self.state.require_session()
        self._rejoin_at = asyncio.get_running_loop().time() + REJOIN_FIRST
        for endpoint in self.state.config.bootstrap_nodes:
            session.add_dht_node(endpoint)
        self.stats.listen(self._on_stats)

    async def wait_nodes(self, count: int, timeout: float | None = None) -> None:
        """Wait until the DHT routing table holds at least ``count`` nodes."""
        if self.stats.get("dht.dht_nodes") < count:
            await self.nodes_waiters.wait(count, timeout)

    def set_dht(self, torrent: Torrent, on: bool) -> None:
        """Switch ``torrent``'s DHT announces and lookups on or off."""
        torrent.dht = on
        if on:
            torrent.handle.unset_flags(lt.torrent_flags.disable_dht)
            torrent.handle.force_dht_announce()
        else:
            torrent.handle.set_flags(lt.torrent_flags.disable_dht)

    def retire(self, torrents: list[Torrent]) -> None:
        """Take torrents that stopped being fresh out of the DHT (with ``dht_fresh_only``)."""
        if not self.state.config.dht_fresh_only:
            return
        for torrent in torrents:
            if torrent.dht:
                self.state.log.debug("%s is no longer fresh: out of the DHT", torrent.key[:16])
                self.set_dht(torrent, False)

    async def announce_fresh(self) -> None:
        """Re-announce fresh torrents that have no metadata or no peer yet (BEP 5).

        A copy this node downloaded is left to libtorrent's own announce schedule: seeds drop
        each other's connections (BEP 21 upload_only), so it has no peer most of the time, and
        re-announcing it every round cost a follower that just caught up on a few authors'
        pages ~20 announces a second.
        """
        interval = 2.0 if self.state.config.local_only else 30.0
        while True:
            await asyncio.sleep(interval)  # protocol timer: re-announce cadence
            for torrent in self.state.table.fresh():
                if wants_reannounce(torrent):
                    torrent.handle.force_dht_announce()

    def routing_table(self) -> list[Endpoint]:
        """Return the DHT routing table's nodes (from the session's saved DHT state)."""
        session = self.state.session
        if session is None:
            return []
        state = lt.write_session_params_buf(
            session.session_state(), lt.save_state_flags_t.save_dht_state
        )
        try:
            decoded = bencoding.decode(bytes(state))
        except InvalidInput:
            return []
        dht = decoded.get(b"dht state", {}) if isinstance(decoded, dict) else {}
        nodes: list[Endpoint] = []
        for compact in dht.get(b"nodes", []) if isinstance(dht, dict) else []:
            if isinstance(compact, bytes) and len(compact) == 6:
                host = socket.inet_ntoa(compact[:4])
                nodes.append((host, int.from_bytes(compact[4:], "big")))
        return nodes

    def _on_stats(self, values: dict[str, int]) -> None:
        nodes = int(values.get("dht.dht_nodes", 0))
        self.nodes_waiters.resolve_where(lambda wanted: wanted <= nodes)
        self._keep_joined(nodes)

    def _keep_joined(self, nodes: int) -> None:
        """Contact the bootstrap nodes again while the routing table stays near empty."""
        config = self.state.config
        low_water = max(1, min(3, len(config.bootstrap_nodes)))
        now = asyncio.get_running_loop().time()
        if nodes >= low_water:
            self._rejoin_pause = REJOIN_FIRST
            self._rejoin_at = now + REJOIN_FIRST
            return
        session = self.state.session
        if now < self._rejoin_at or session is None:
            return
        endpoints = list(config.bootstrap_nodes)
        if config.public_dht:
            endpoints += [_split_endpoint(router) for router in PUBLIC_ROUTERS.split(",")]
        if not endpoints:
            return  # a lone node: nobody to ask
        self.state.log.info(
            "DHT routing table holds %d nodes; contacting %d bootstrap nodes again",
            nodes,
            len(endpoints),
        )
        for endpoint in endpoints:
            session.add_dht_node(endpoint)
        self._rejoin_at = now + self._rejoin_pause
        self._rejoin_pause = min(self._rejoin_pause * 2, REJOIN_MAX)

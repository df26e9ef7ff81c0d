"""The node's metrics in the Prometheus text format, collected when scraped.

A custom collector (prometheus_client's ``Collector``) reads the node's own state at scrape
time: session counters from the engine, event counts (node/counters.py), the media usage
totals the index keeps per author and state, the follow table. None of it is kept twice. Every
query is one row per author (or per state); the per-author traffic is summed from the
engine's torrent statuses (node/traffic.py).

Labels: ``author`` is a 64-hex key (one series per followed author); every other label takes
values from a fixed set, never from peer data.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from swarmfeed.node.node import Node
from swarmfeed.node.traffic import TrafficLedger

# libtorrent session counters (session stats) exported as they are.
ENGINE_DHT_METHODS = ("ping", "find_node", "get_peers", "announce_peer", "get", "put")
"""KRPC query methods whose sent counts libtorrent keeps (``dht.dht_<method>_out``)."""

ENGINE_TORRENT_STATES = {
    "ses.num_checking_torrents": "checking",
    "ses.num_downloading_torrents": "downloading",
    "ses.num_seeding_torrents": "seeding",
    "ses.num_upload_only_torrents": "upload_only",
    "ses.num_stopped_torrents": "stopped",
    "ses.num_error_torrents": "error",
}


class NodeCollector(Collector):
    """Describes a running node to Prometheus on every scrape."""

    def __init__(self, node: Node, version: str) -> None:
        self.node = node
        self.version = version
        self.traffic = TrafficLedger(self._owner)

    def _owner(self, infohash: str) -> str | None:
        row = self.node.db.torrents.get(infohash)
        return row.author if row is not None else None

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family (called by prometheus_client at each scrape)."""
        yield from self._process()
        yield from self._torrents()
        yield from self._traffic()
        yield from self._dht()
        yield from self._follows()
        yield from self._storage()

    def _process(self) -> Iterator[Metric]:
        node = self.node
        info = GaugeMetricFamily(
            "swarmfeed_node", "This node (always 1).", labels=["author", "version"]
        )
        info.add_metric([node.author, self.version], 1)
        yield info
        yield GaugeMetricFamily("swarmfeed_uptime_seconds", "Seconds since start.", node.uptime())
        yield GaugeMetricFamily(
            "swarmfeed_healthy", "1 when swarmfeed health passes, else 0.", int(node.health().ok)
        )
        yield GaugeMetricFamily(
            "swarmfeed_publishing_ready",
            "1 when the node can publish now, 0 while it waits or refuses (see /api/status).",
            int(node.publisher.state == "ready"),
        )

    def _torrents(self) -> Iterator[Metric]:
        node = self.node
        torrents = GaugeMetricFamily(
            "swarmfeed_torrents",
            "Pages and media bundles this node knows, by kind and state "
            "(media: queued, fetching, complete, skipped, evicted, refused).",
            labels=["kind", "state"],
        )
        by_state: dict[str, int] = {}
        for usage in node.db.media.usage():
            by_state[usage.state.value] = by_state.get(usage.state.value, 0) + usage.bundles
        for state, count in sorted(by_state.items()):
            torrents.add_metric(["media", state], count)
        torrents.add_metric(["page", "held"], node.db.feeds.page_count())
        yield torrents
        engine = GaugeMetricFamily(
            "swarmfeed_engine_torrents",
            "Torrents in the BitTorrent engine by libtorrent state.",
            labels=["state"],
        )
        for counter, state in ENGINE_TORRENT_STATES.items():
            engine.add_metric([state], node.engine.counter(counter))
        yield engine
        yield GaugeMetricFamily(
            "swarmfeed_peers", "Connected peers.", node.engine.counter("peer.num_peers_connected")
        )

    def _traffic(self) -> Iterator[Metric]:
        node = self.node
        if node.engine.running:
            self.traffic.observe(node.engine.list_status())
        for name, totals, help_text in (
            (
                "swarmfeed_author_bytes_up",
                self.traffic.uploaded,
                "Payload bytes uploaded to peers, by author.",
            ),
            (
                "swarmfeed_author_bytes_down",
                self.traffic.downloaded,
                "Payload bytes downloaded from peers, by author.",
            ),
        ):
            family = CounterMetricFamily(name, help_text, labels=["author"])
            for author, total in sorted(totals.items()):
                family.add_metric([author], total)
            yield family
        yield CounterMetricFamily(
            "swarmfeed_bytes_up",
            "Payload bytes uploaded in all.",
            node.engine.counter("net.sent_payload_bytes"),
        )
        yield CounterMetricFamily(
            "swarmfeed_bytes_down",
            "Payload bytes downloaded in all.",
            node.engine.counter("net.recv_payload_bytes"),
        )

    def _dht(self) -> Iterator[Metric]:
        node = self.node
        yield GaugeMetricFamily(
            "swarmfeed_dht_nodes",
            "Nodes in the DHT routing table.",
            node.engine.counter("dht.dht_nodes"),
        )
        messages = CounterMetricFamily(
            "swarmfeed_engine_dht_messages",
            "DHT messages of the engine's DHT node (BEP 5), by direction.",
            labels=["direction"],
        )
        messages.add_metric(["in"], node.engine.counter("dht.dht_messages_in"))
        messages.add_metric(["out"], node.engine.counter("dht.dht_messages_out"))
        yield messages
        engine_queries = CounterMetricFamily(
            "swarmfeed_engine_dht_queries",
            "Queries the engine's DHT node (BEP 5, BEP 44) sent, by KRPC method.",
            labels=["method"],
        )
        for method in ENGINE_DHT_METHODS:
            engine_queries.add_metric([method], node.engine.counter(f"dht.dht_{method}_out"))
        yield engine_queries
        yield CounterMetricFamily(
            "swarmfeed_dht_queries",
            "KRPC queries sent by the BEP 44 client.",
            node.dht.queries_sent,
        )
        operations = CounterMetricFamily(
            "swarmfeed_dht_operations",
            "BEP 44 lookups (get) and publications (put) of heads.",
            labels=["operation"],
        )
        operations.add_metric(["get"], node.dht.lookups)
        operations.add_metric(["put"], node.dht.puts)
        yield operations
        by_method = CounterMetricFamily(
            "swarmfeed_dht_method_queries",
            "KRPC queries sent by the BEP 44 client, by method (head gets and puts, BEP 5 "
            "get_peers and announce_peer of the push rendezvous).",
            labels=["method"],
        )
        for method, sent in sorted(node.dht.sent_by_method().items()):
            by_method.add_metric([method], sent)
        yield by_method

    def _follows(self) -> Iterator[Metric]:
        node = self.node
        counters = node.counters
        polls = CounterMetricFamily(
            "swarmfeed_head_polls",
            "Head checks of followed authors, by outcome.",
            labels=["outcome"],
        )
        for outcome, count in sorted(counters.polls.items()):
            polls.add_metric([outcome], count)
        yield polls
        offers = CounterMetricFamily(
            "swarmfeed_head_pushes",
            "Heads offered by peers (pushed), by outcome: accepted, stale, refused.",
            labels=["outcome"],
        )
        for outcome, count in sorted(counters.offers.items()):
            offers.add_metric([outcome], count)
        yield offers
        refusals = CounterMetricFamily(
            "swarmfeed_refusals", "Data refused, by reason.", labels=["reason"]
        )
        for reason, count in sorted(counters.refusals.items()):
            refusals.add_metric([reason], count)
        yield refusals
        now = node.clock()
        follows = GaugeMetricFamily(
            "swarmfeed_follows",
            "Followed authors by kind and sync state.",
            labels=["kind", "state"],
        )
        lag = GaugeMetricFamily(
            "swarmfeed_sync_lag_seconds",
            "Seconds since each followed author was last fully synced (since followed if never).",
            labels=["author", "kind"],
        )
        head = GaugeMetricFamily(
            "swarmfeed_head_posts",
            "Posts the latest verified head of each author names.",
            labels=["author"],
        )
        states: dict[tuple[str, str], int] = {}
        for author, kind, state, added, synced, posts in node.db.follows.sync_facts():
            states[(kind, state)] = states.get((kind, state), 0) + 1
            lag.add_metric(
                [author, kind], max(0.0, now - (synced if synced is not None else added))
            )
            if posts is not None:
                head.add_metric([author], posts)
        for (kind, state), count in sorted(states.items()):
            follows.add_metric([kind, state], count)
        yield follows
        yield lag
        yield head

    def _storage(self) -> Iterator[Metric]:
        node = self.node
        report = node.storage.report()
        yield GaugeMetricFamily(
            "swarmfeed_storage_used_bytes",
            "Media held or on its way, of every author.",
            report.used_bytes,
        )
        yield GaugeMetricFamily(
            "swarmfeed_storage_budget_bytes",
            "The total media budget (0: none).",
            report.budget_bytes,
        )
        held = GaugeMetricFamily(
            "swarmfeed_author_storage_bytes",
            "Media bytes held per author (complete bundles).",
            labels=["author", "kind"],
        )
        budget = GaugeMetricFamily(
            "swarmfeed_author_budget_bytes", "Budget of each followed author.", labels=["author"]
        )
        for usage in report.authors:
            held.add_metric([usage.author, usage.kind], usage.held_bytes)
            if usage.budget is not None:
                budget.add_metric([usage.author], usage.budget)
        yield held
        yield budget
        yield CounterMetricFamily(
            "swarmfeed_evictions",
            "Media bundles evicted to stay within a budget since start.",
            node.storage.evictions,
        )


def node_registry(node: Node, version: str) -> CollectorRegistry:
    """Return a registry holding only ``node``'s collector (no process-global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node, version))
    return registry

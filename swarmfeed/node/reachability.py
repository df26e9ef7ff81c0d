"""What the node observes about its reach (DHT, own head, incoming peers), judged by core rules."""

from __future__ import annotations

from collections.abc import Callable

from swarmfeed.core.bep44 import MutableItem
from swarmfeed.core.reachability import Facts, HeadPut, Verdict, judge
from swarmfeed.dht.client import DhtClient, PutResult
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import SessionStatus
from swarmfeed.node.config import Settings


class Reachability:
    """Keeps the latest own-head put and turns the node's observations into a verdict."""

    def __init__(
        self, settings: Settings, engine: Engine, dht: DhtClient, clock: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.dht = dht
        self.clock = clock
        self.started_at = clock()
        self.head_put: HeadPut | None = None

    def started(self) -> None:
        """Note the start of the node (the grace period for joining the DHT begins)."""
        self.started_at = self.clock()

    def put_done(self, item: MutableItem, result: PutResult) -> None:
        """Record the outcome of a put of our own head (Publisher.on_head_put)."""
        self.head_put = HeadPut(item.seq, result.stored, result.attempted, self.clock())

    def facts(self, session: SessionStatus) -> Facts:
        """Return what the node observed, from a session snapshot."""
        return Facts(
            dht_nodes=session.dht_nodes,
            lookup_answered=(
                None
                if self.dht.last_lookup_responders is None
                else self.dht.last_lookup_responders > 0
            ),
            head_put=self.head_put,
            incoming_connections=session.incoming_connections,
            listen_host=self.settings.listen_endpoint[0],
            listen_port=session.listen_port,
            external_ip=session.external_ip,
            uptime=self.clock() - self.started_at,
            public_dht=self.settings.public_dht,
            bootstrap_nodes=len(self.settings.bootstrap_nodes),
        )

    def verdict(self, session: SessionStatus | None = None) -> Verdict:
        """Return how reachable the node is now (from ``session`` or a fresh snapshot)."""
        return judge(self.facts(session or self.engine.session_status()))

    def addresses(self) -> tuple[tuple[str, int], ...]:
        """Return the addresses to hand out as peer hints (``x.pe``) with magnet links."""
        return self.verdict().addresses

"""Rendezvous: meet peers under an arbitrary 20-byte key in the DHT instead of per torrent.

The DHT maps any 20-byte key to the peers announced under it (BEP 5 ``announce_peer`` /
``get_peers``); libtorrent does not care whether the key is a torrent's infohash. A node can so
announce its BitTorrent port once under, say, a key derived from an author, and anybody
looking that key up finds every node that holds the author's content; the peers found are
handed to the torrents that want them (``Engine.connect_peers``), which need no DHT traffic of
their own (``disable_dht``). DHT cost then grows with authors, not with posts.

libtorrent answers ``dht_get_peers`` with one ``dht_get_peers_reply_alert`` per DHT node
that knew peers, and sends no word when the lookup ends: a lookup here returns once enough
peers are in, or when its time is up with what was found.
"""

from __future__ import annotations

import asyncio
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.settings import listen_host
from swarmfeed.engine.table import Endpoint, EngineState
from swarmfeed.engine.waiters import Waiters
from swarmfeed.errors import InvalidInput

KEY_BYTES = 20
MAX_FOUND = 200
"""Peers kept per lookup at most (the DHT returns up to 100 per node)."""


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise InvalidInput(f"a rendezvous key is {KEY_BYTES} bytes")


class Rendezvous:
    """Announces this node under keys and looks up the peers under keys."""

    def __init__(self, state: EngineState) -> None:
        self.state = state
        self._found: dict[bytes, set[Endpoint]] = {}
        self._lookups: dict[bytes, int] = {}
        self.replies: Waiters[bytes] = Waiters()

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for get_peers replies."""
        alerts.on(lt.dht_get_peers_reply_alert, self._on_peers)

    def announce(self, key: bytes) -> None:
        """Announce this node's BitTorrent listen port under ``key`` (BEP 5 announce_peer).

        DHT nodes keep an announce for about 30 minutes (libtorrent: 45): announce again
        before that to stay findable.
        """
        _check_key(key)
        session = self.state.require_session()
        session.dht_announce(lt.sha1_hash(key), int(session.listen_port()), 0)

    async def find(self, key: bytes, *, timeout: float, want: int = 1) -> list[Endpoint]:
        """Look up the peers announced under ``key`` (BEP 5 get_peers).

        Returns as soon as ``want`` distinct peers are found, or after ``timeout`` seconds with
        the peers found by then (maybe none). This node's own endpoint is left out.
        """
        _check_key(key)
        session = self.state.require_session()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        found = self._found.setdefault(key, set())
        self._lookups[key] = self._lookups.get(key, 0) + 1
        try:
            session.dht_get_peers(lt.sha1_hash(key))
            while len(found) < want:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    await self.replies.wait(key, remaining)
                except TimeoutError:
                    break
            return sorted(found)
        finally:
            self._lookups[key] -= 1
            if not self._lookups[key]:
                del self._lookups[key]
                del self._found[key]

    def _on_peers(self, alert: Any) -> None:
        key = bytes(alert.info_hash.to_bytes())
        found = self._found.get(key)
        if found is None:
            return  # nobody looks for it (an announce's own lookup)
        session = self.state.session
        own = (listen_host(self.state.config), int(session.listen_port())) if session else None
        for host, port in alert.peers():
            endpoint = (str(host), int(port))
            if endpoint != own and len(found) < MAX_FOUND:
                found.add(endpoint)
        self.replies.resolve(key)

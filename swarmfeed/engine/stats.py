"""Session counters: libtorrent's session stats, posted on a timer, turned into rates and totals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libtorrent as lt

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.types import SessionStatus

StatsListener = Callable[[dict[str, int]], None]


class SessionStats:
    """The latest session counters (``session_stats_alert``) and the payload rates between two."""

    def __init__(self, interval: float) -> None:
        self.interval = max(interval, 0.001)
        self.values: dict[str, int] = {}
        self.upload_rate = 0
        self.download_rate = 0
        self.external_ip: str | None = None
        """Our address as other nodes and peers see it (external_ip_alert), if known."""
        self._listeners: list[StatsListener] = []

    def attach(self, alerts: AlertLoop) -> None:
        """Listen for session stats."""
        alerts.on(lt.session_stats_alert, self._on_stats)
        alerts.on(lt.external_ip_alert, self._on_external_ip)

    def listen(self, listener: StatsListener) -> None:
        """Call ``listener(values)`` after every new set of counters."""
        self._listeners.append(listener)

    def get(self, name: str) -> int:
        """Return counter ``name`` (e.g. ``dht.dht_nodes``), 0 before the first stats."""
        return int(self.values.get(name, 0))

    def session_status(self, listen_port: int, torrents: int) -> SessionStatus:
        """Return the session's snapshot from the latest counters."""
        return SessionStatus(
            dht_nodes=self.get("dht.dht_nodes"),
            num_torrents=torrents,
            num_peers=self.get("peer.num_peers_connected"),
            upload_rate=self.upload_rate,
            download_rate=self.download_rate,
            total_upload=self.get("net.sent_payload_bytes"),
            total_download=self.get("net.recv_payload_bytes"),
            listen_port=listen_port,
            incoming_connections=self.get("peer.incoming_connections"),
            external_ip=self.external_ip,
            dht_packets_out=self.get("dht.dht_messages_out"),
            dht_packets_in=self.get("dht.dht_messages_in"),
            dht_bytes_out=self.get("dht.dht_bytes_out"),
            dht_lookups_out=self.get("dht.dht_get_peers_out"),
            dht_announces_out=self.get("dht.dht_announce_peer_out"),
        )

    def _on_external_ip(self, alert: Any) -> None:
        self.external_ip = str(alert.external_address)

    def _on_stats(self, alert: Any) -> None:
        values = {str(k): int(v) for k, v in dict(alert.values).items()}
        if self.values:
            up = values.get("net.sent_payload_bytes", 0) - self.get("net.sent_payload_bytes")
            down = values.get("net.recv_payload_bytes", 0) - self.get("net.recv_payload_bytes")
            self.upload_rate = int(up / self.interval)
            self.download_rate = int(down / self.interval)
        self.values = values
        for listener in list(self._listeners):
            listener(values)

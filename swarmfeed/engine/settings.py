"""The libtorrent session's settings: what swarmfeed asks of the session and why."""

from __future__ import annotations

from typing import Any, cast

import libtorrent as lt

from swarmfeed.core.policy import SessionTuning
from swarmfeed.engine.types import EngineConfig

PUBLIC_ROUTERS = (
    "router.bittorrent.com:6881,dht.transmissionbt.com:6881,"
    "router.utorrent.com:6881,dht.libtorrent.org:25401"
)

CONNECTION_SPEED = 60
"""Outgoing connection attempts per second (libtorrent's default is 30). Catching up on a back
catalogue starts many small torrents at once, each wanting a connection or two to the peers
handed to it; 30 a second would be the pace of the whole catch-up."""

INACTIVITY_TIMEOUT = 60
"""Seconds a connection where neither side is interested stays open (libtorrent: 600). Seeds
drop each other at once (``close_redundant_connections``); this closes the rest of the idle
connections: a torrent nobody wants holds no connection for long."""

MAX_PEERLIST_SIZE = 500
"""Peers remembered per torrent (libtorrent: 3000). Per-torrent memory times 10,000 torrents;
a few hundred candidates are plenty to pick connections from."""

MAX_PAUSED_PEERLIST_SIZE = 50
"""The same for paused torrents (libtorrent: 1000)."""

ENGINE_SOCKETS = 32
"""Listen sockets (TCP and uTP per interface), the DHT, LSD, UPnP and NAT-PMP sockets, the alert
socketpair and libtorrent's own wake-up pipes, generously."""

ALERT_QUEUE_SIZE = 10000
"""Alerts buffered between two drains; a restore adds torrents in batches well below this."""


MIN_RECONNECT_TIME = 2
"""Seconds before libtorrent calls a disconnected peer again (times its failures), locally."""
MIN_RECONNECT_TIME_PUBLIC = 10
"""The same on the public network (libtorrent: 60)."""


def tuning_settings(tuning: SessionTuning) -> dict[str, int]:
    """Return the libtorrent settings of a seeding-policy ``tuning`` (core/policy.py)."""
    return {
        "unchoke_slots_limit": tuning.unchoke_slots,
        "unchoke_interval": tuning.unchoke_interval,
        "optimistic_unchoke_interval": tuning.optimistic_unchoke_interval,
        "seed_choking_algorithm": int(
            getattr(lt.seed_choking_algorithm_t, tuning.seed_choking.value)
        ),
        "max_allowed_in_request_queue": tuning.max_queued_requests,
        "whole_pieces_threshold": tuning.whole_pieces_threshold,
        "tick_interval": tuning.tick_interval_ms,
    }


def listen_host(config: EngineConfig) -> str:
    """Return the host part of the listen interface ('' for every interface)."""
    host = config.listen_interface.rpartition(":")[0].strip("[]")
    return "" if host in ("", "0.0.0.0", "::") else host  # noqa: S104


def session_settings(config: EngineConfig, tuning: SessionTuning) -> dict[str, Any]:
    """Return the settings pack of a new session for ``config`` under seeding ``tuning``."""
    local = config.local_only
    categories = lt.alert_category
    return {
        "listen_interfaces": config.listen_interface,
        "enable_dht": True,
        "dht_bootstrap_nodes": PUBLIC_ROUTERS if config.public_dht else "",
        "enable_lsd": not local,
        "enable_upnp": not local,
        "enable_natpmp": not local,
        "dht_restrict_routing_ips": not local,
        "dht_restrict_search_ips": not local,
        "allow_multiple_connections_per_ip": local,
        # Measured on loopback: simultaneous uTP connects between two peers end in a
        # "duplicate peer-id" drop of one side and "invalid message" on the other, losing
        # both. Private/local swarms use TCP only; the public network keeps uTP.
        "enable_outgoing_utp": not local,
        "enable_incoming_utp": not local,
        # Two seeds of a torrent drop their connection (BEP 21 upload_only): a finished torrent
        # holds no connection. A magnet held back for its metadata check briefly counts as
        # finished too; the metadata gate reconnects its sources when it is released.
        "close_redundant_connections": True,
        # A seed dropped that way must be reconnectable as soon as the check released the
        # torrent: libtorrent waits min_reconnect_time (60 s) before calling a peer again.
        "min_reconnect_time": MIN_RECONNECT_TIME if local else MIN_RECONNECT_TIME_PUBLIC,
        "connections_limit": config.connections_limit,
        "connection_speed": CONNECTION_SPEED,
        "inactivity_timeout": INACTIVITY_TIMEOUT,
        "max_peerlist_size": MAX_PEERLIST_SIZE,
        "max_paused_peerlist_size": MAX_PAUSED_PEERLIST_SIZE,
        # Private/local swarms put many nodes and DHT clients on few addresses; libtorrent
        # bans an IP above 5 DHT packets/s (and then for 300 s), which a busy test swarm
        # reaches. The public DHT keeps libtorrent's defaults.
        "dht_block_ratelimit": 1000 if local else 5,
        "dht_upload_rate_limit": 1_000_000 if local else 8000,
        "upload_rate_limit": config.upload_rate_limit,
        "download_rate_limit": config.download_rate_limit,
        # Choking (BEP 3) and request queues as the seeding policy asks (core/policy.py,
        # docs/performance.md); re-decided every policy round.
        **tuning_settings(tuning),
        # Every followed torrent must keep seeding (../shared/NOTES.md: the default queue
        # would stop most of them). Torrents are added without auto_managed, so the queue
        # never pauses them; the active_* limits only govern auto-managed torrents.
        # Outgoing connections from the listen address: on loopback the kernel would
        # otherwise pick the destination's own address as source and peers see themselves.
        "outgoing_interfaces": listen_host(config),
        "user_agent": "swarmfeed/0.1",
        "peer_fingerprint": lt.generate_fingerprint("SF", 0, 1, 0, 0),
        "alert_mask": categories.status
        | categories.error
        | categories.storage
        | categories.piece_progress
        | categories.stats
        # dht_get_peers_reply_alert (rendezvous lookups); nothing else is in this category
        # but the sample_infohashes replies swarmfeed never asks for.
        | categories.dht_operation,
        "alert_queue_size": ALERT_QUEUE_SIZE,
    }


def open_session(config: EngineConfig, tuning: SessionTuning) -> Any:
    """Create the session for ``config``; rate limits apply to local peers if asked."""
    session = lt.session(cast(Any, session_settings(config, tuning)))
    if config.rate_limit_local_peers:
        # Loopback/LAN peers fall into the local class that ignores rate limits (NOTES.md).
        peer_filter = lt.ip_filter()
        peer_filter.add_rule(
            "0.0.0.0",  # noqa: S104 - an address range, not a bind
            "255.255.255.255",
            1 << session.global_peer_class_id,
        )
        session.set_peer_class_filter(peer_filter)
    return session


def descriptors_needed(config: EngineConfig, tuning: SessionTuning) -> int:
    """Return how many file descriptors a session for ``config`` may hold at its limits."""
    settings = {**lt.default_settings(), **session_settings(config, tuning)}
    return int(settings["connections_limit"]) + int(settings["file_pool_size"]) + ENGINE_SOCKETS

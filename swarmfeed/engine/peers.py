"""Peers handed to torrents and peers remembered from them (hints for the next torrents)."""

from __future__ import annotations

from collections.abc import Iterable

import libtorrent as lt

from swarmfeed.engine.table import MAX_KNOWN_PEERS, Endpoint, EngineState, Torrent


class PeerBook:
    """Hands known peers to torrents (``connect_peer``) and remembers whom we connected to."""

    def __init__(self, state: EngineState) -> None:
        self.state = state

    def connect(self, torrent: Torrent, endpoints: Iterable[Endpoint]) -> None:
        """Hand ``endpoints`` to ``torrent``: libtorrent connects them on its next round.

        They are kept as the torrent's sources (at most MAX_KNOWN_PEERS): a magnet released
        after its metadata check connects them again.
        """
        for host, port in endpoints:
            endpoint = (str(host), int(port))
            if len(torrent.sources) < MAX_KNOWN_PEERS:
                torrent.sources.add(endpoint)
            torrent.handle.connect_peer(endpoint)

    def remember(self, torrent: Torrent) -> None:
        """Keep the listen addresses of the peers this node connected to for ``torrent``."""
        known = torrent.known_peers
        for peer in torrent.handle.get_peer_info():
            if len(known) >= MAX_KNOWN_PEERS:
                return
            # Only connections we opened name the peer's listen port; incoming ones show an
            # ephemeral source port.
            if peer.flags & lt.peer_info.local_connection:
                known.add((str(peer.ip[0]), int(peer.ip[1])))

    def hints(self, keys: Iterable[str]) -> list[Endpoint]:
        """Return the listen addresses of peers known for any of ``keys`` (no libtorrent call).

        Peers are remembered when a torrent's metadata arrives and when it finishes.
        """
        found: list[Endpoint] = []
        for key in keys:
            torrent = self.state.table.get(key)
            if torrent is None:
                continue
            for endpoint in torrent.known_peers | torrent.sources:
                if endpoint not in found:
                    found.append(endpoint)
            if len(found) >= MAX_KNOWN_PEERS:
                break
        return found[:MAX_KNOWN_PEERS]

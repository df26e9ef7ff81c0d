"""Per-author rendezvous keys in the mainline DHT (BEP 5 get_peers / announce_peer; pure).

Every node that holds an author's content announces its BitTorrent listen port under the
author's peers key, so whoever wants any page or media bundle of that author finds its holders
with one lookup per author instead of one per post. The push channel meets under its own key
(core/push/wire.py, protocol.md §11.2): an endpoint found under one key is never used for the
other.
"""

from __future__ import annotations

import hashlib

PEERS_PREFIX = b"swarmfeed:peers:1:"


def peers_key(author: bytes) -> bytes:
    """Return the 20-byte DHT key under which holders of ``author`` announce BitTorrent ports."""
    if len(author) != 32:
        raise ValueError("an author key is 32 bytes")
    return hashlib.sha1(PEERS_PREFIX + author, usedforsecurity=False).digest()

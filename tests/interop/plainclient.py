"""Another client of swarmfeed's feeds, written from docs/protocol.md alone.

Nothing here imports swarmfeed (tests/interop/test_plain_client.py checks): a plain libtorrent
session finds an author's head through BEP 46, fetches pages and media by infohash or magnet,
bencode.py decodes them and pynacl checks the signatures. If a step needed swarmfeed's code,
protocol.md would not be enough to write another client.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bencodepy
import libtorrent as lt
import nacl.exceptions
import nacl.signing

BTPK = "urn:btpk:"


@dataclass(frozen=True)
class Head:
    """An author's head (protocol.md §6): the BEP 44 item and its BEP 46 value."""

    seq: int
    value: dict[bytes, Any]
    raw_value: bytes
    signature: bytes


def author_key(address: str) -> bytes:
    """Return the public key of a BEP 46 author address ``magnet:?xs=urn:btpk:<hex>`` (§2)."""
    query = address.split("?", 1)[1]
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "xs" and value.lower().startswith(BTPK):
            return bytes.fromhex(value[len(BTPK) :])
    raise ValueError(f"no btpk in {address}")


def verify_head(public_key: bytes, head: Head) -> None:
    """Check the BEP 44 signature of a head: over ``3:seqi<seq>e1:v<bencoded v>`` (§6)."""
    signed = b"3:seqi%de1:v" % head.seq + head.raw_value
    nacl.signing.VerifyKey(public_key).verify(signed, head.signature)


def signed_bytes(post: dict[bytes, Any]) -> bytes:
    """Return the bytes a post's signature covers: the post without ``sig``, bencoded (§3)."""
    return bytes(bencodepy.encode({k: v for k, v in post.items() if k != b"sig"}))


def verify_post(post: dict[bytes, Any]) -> str:
    """Check a post's ed25519 signature by its ``author`` key; return its post id (§3)."""
    data = signed_bytes(post)
    try:
        nacl.signing.VerifyKey(post[b"author"]).verify(data, post[b"sig"])
    except nacl.exceptions.BadSignatureError as exc:
        raise AssertionError(f"post {post[b'seq']} has a bad signature") from exc
    return hashlib.sha256(data).hexdigest()


class PlainClient:
    """A libtorrent session with default behaviour, set up for a private DHT on loopback."""

    def __init__(self, ip: str, bootstrap: list[tuple[str, int]], *, dht: bool = True) -> None:
        self.session = lt.session(
            {
                "listen_interfaces": f"{ip}:0",
                "outgoing_interfaces": ip,
                "enable_dht": dht,
                # A private swarm on loopback (NOTES: "A private DHT and swarm on loopback"):
                # no public routers, no local discovery, every address allowed in the DHT.
                "dht_bootstrap_nodes": "",
                "enable_lsd": False,
                "enable_upnp": False,
                "enable_natpmp": False,
                "dht_restrict_routing_ips": False,
                "dht_restrict_search_ips": False,
                "allow_multiple_connections_per_ip": True,
                # The swarmfeed nodes of a private swarm speak TCP only; a client trying uTP
                # first loses seconds per peer.
                "enable_outgoing_utp": False,
                "alert_mask": lt.alert_category.status
                | lt.alert_category.error
                | lt.alert_category.storage
                | lt.alert_category.dht_operation,
            }
        )
        for node in bootstrap:
            self.session.add_dht_node(node)

    def close(self) -> None:
        """Stop the session."""
        self.session.pause()
        del self.session

    def _wait(self, what: str, found: Callable[[Any], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.session.wait_for_alert(500)
            for alert in self.session.pop_alerts():
                if isinstance(alert, lt.torrent_error_alert | lt.metadata_failed_alert):
                    raise AssertionError(f"{what}: {alert.message()}")
                result = found(alert)
                if result is not None:
                    return result
        raise TimeoutError(f"{what} did not happen within {timeout} s")

    def get_head(self, public_key: bytes, timeout: float = 60.0) -> Head:
        """Look the author's head up in the DHT (BEP 44 get, empty salt), until one is found."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.session.dht_get_mutable_item(public_key, b"")

            def answer(alert: Any) -> Head | bool | None:
                if not isinstance(alert, lt.dht_mutable_item_alert):
                    return None
                if bytes(alert.key) != public_key or not alert.authoritative:
                    return None
                if alert.seq <= 0:
                    return False  # not found (yet): ask again
                # The binding hands ``v`` over decoded; BEP 44 signs its bencoding, which for a
                # canonical value (protocol.md §1) any encoder reproduces byte for byte.
                item = alert.item
                raw = item if isinstance(item, bytes) else bytes(bencodepy.encode(item))
                return Head(int(alert.seq), bencodepy.decode(raw), raw, bytes(alert.signature))

            result = self._wait("a head lookup", answer, max(deadline - time.monotonic(), 0.1))
            if isinstance(result, Head):
                return result
        raise TimeoutError(f"no head of {public_key.hex()} in the DHT within {timeout} s")

    def add(self, params: Any, save_path: Path) -> Any:
        """Add a torrent (magnet parameters or a loaded .torrent) and return its handle."""
        save_path.mkdir(parents=True, exist_ok=True)
        params.save_path = str(save_path)
        return self.session.add_torrent(params)

    def add_magnet(self, magnet: str, save_path: Path) -> Any:
        """Add a magnet link as any client would (libtorrent reads btih, btmh, dn and x.pe)."""
        return self.add(lt.parse_magnet_uri(magnet), save_path)

    def add_torrent_file(self, data: bytes, save_path: Path) -> Any:
        """Add a .torrent file's bytes."""
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(data)
        return self.add(params, save_path)

    def wait_finished(self, handle: Any, timeout: float = 60.0) -> None:
        """Wait until every piece of ``handle`` is downloaded and checked."""
        if handle.status().is_seeding:
            return

        def finished(alert: Any) -> bool | None:
            if isinstance(alert, lt.torrent_finished_alert) and alert.handle == handle:
                return True
            return None

        self._wait("the download", finished, timeout)
        # Finished means every piece passed its hash check; have it written before reading it.
        handle.flush_cache()
        self._wait(
            "the flush",
            lambda a: True if isinstance(a, lt.cache_flushed_alert) else None,
            timeout,
        )

"""The BEP 44 client against real libtorrent DHT nodes on loopback (protocol.md §6, §7)."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import anyio
import pytest

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item, verify_item
from swarmfeed.dht import krpc
from swarmfeed.dht.client import DhtClient
from swarmfeed.dht.krpc import ErrorReply, Response

lt = pytest.importorskip("libtorrent")
DhtNode = Any  # tests/dht/conftest.py: a session with host, port and addr

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

INFOHASH = bytes.fromhex("0123456789abcdef0123456789abcdef01234567")


def head(count: int) -> bytes:
    """Return a BEP 46 head value (protocol.md §6)."""
    return bencoding.encode({"ih": INFOHASH, "n": count})


def client(host: str, nodes: list[DhtNode]) -> DhtClient:
    return DhtClient(host, lambda: [node.addr for node in nodes], timeout=0.5)


def libtorrent_get(
    session: Any, public_key: bytes, want_seq: int, timeout: float = 20.0
) -> dict[str, Any]:
    """Return the first dht_mutable_item_alert fields with ``want_seq`` (or the final best).

    libtorrent reports what single nodes return first (non-authoritative, signature already
    checked) and the authoritative result only when its lookup ends, about 15 s later on this
    five-node DHT, so the test stops at the first alert carrying the wanted seq.
    """
    session.dht_get_mutable_item(public_key, b"")
    deadline = time.monotonic() + timeout
    best: dict[str, Any] = {"seq": -1}
    while time.monotonic() < deadline:
        session.wait_for_alert(200)
        for alert in session.pop_alerts():
            if not isinstance(alert, lt.dht_mutable_item_alert) or alert.key != public_key:
                continue
            # Copy at once: an alert is invalid after the next pop_alerts() (NOTES.md).
            fields = {
                "seq": alert.seq,
                "signature": bytes(alert.signature),
                "item": alert.item,
                "salt": bytes(alert.salt),
                "authoritative": alert.authoritative,
            }
            if fields["seq"] >= best["seq"]:
                best = fields
            if alert.authoritative or best["seq"] >= want_seq:
                return best
    return best


async def test_put_is_stored_and_libtorrent_reads_the_bep46_dict(
    dht_nodes: list[DhtNode],
) -> None:
    seed = os.urandom(32)
    item = sign_item(seed, head(3), 5)
    async with client("127.0.0.10", dht_nodes) as publisher:
        result = await publisher.put_mutable(item)
    assert result.attempted == len(dht_nodes)
    assert result.stored >= 3

    found = await anyio.to_thread.run_sync(libtorrent_get, dht_nodes[0].session, item.public_key, 5)
    assert found["seq"] == 5
    assert found["signature"] == item.signature
    # libtorrent hands the item back decoded: the BEP 46 dict itself, not a string.
    value = found["item"]
    raw = value if isinstance(value, bytes) else bencoding.encode(value)
    assert bencoding.decode(raw) == {b"ih": INFOHASH, b"n": 3}
    assert raw == item.value


async def test_a_follower_gets_and_reputs_an_item_it_did_not_sign(
    dht_nodes: list[DhtNode],
) -> None:
    item = sign_item(os.urandom(32), head(3), 5)
    async with client("127.0.0.10", dht_nodes) as author:
        assert (await author.put_mutable(item)).stored >= 3

    async with client("127.0.0.11", dht_nodes) as follower:
        got = await follower.get_mutable(item.public_key)
        assert got.item == item
        assert got.responders == len(dht_nodes)
        assert len(got.tokens) == len(dht_nodes)
        assert all(holder.seq == 5 for holder in got.tokens)
        assert got.item is not None
        verify_item(got.item)
        reput = await follower.put_mutable(got.item, got)
    assert reput.stored >= 3
    assert reput.errors == ()


async def test_a_lower_seq_is_refused_and_the_higher_stays(dht_nodes: list[DhtNode]) -> None:
    seed = os.urandom(32)
    newer = sign_item(seed, head(4), 5)
    older = sign_item(seed, head(3), 4)
    async with client("127.0.0.10", dht_nodes) as publisher:
        assert (await publisher.put_mutable(newer)).stored >= 3
        refused = await publisher.put_mutable(older)
        assert refused.stored == 0
        assert refused.attempted >= 3
        assert set(refused.errors) == {krpc.ERROR_SEQ_TOO_LOW}  # BEP 44: 302
        got = await publisher.get_mutable(newer.public_key)
    assert got.item == newer


async def test_libtorrent_refuses_a_forged_put_and_get_never_returns_one(
    dht_nodes: list[DhtNode],
) -> None:
    good = sign_item(os.urandom(32), head(1), 1)
    forged = MutableItem(good.public_key, 2, head(9), good.signature)
    node = dht_nodes[1]
    # Bypass DhtClient (which never sends a bad item): a raw get for a token, then the put.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.12", 0))
        sock.settimeout(2.0)
        node_id = os.urandom(20)
        sock.sendto(krpc.build_get(b"g1", node_id, good.target), node.addr)
        reply = krpc.parse_message(sock.recvfrom(4096)[0])
        assert isinstance(reply, Response)
        assert reply.token is not None
        assert reply.item is None
        sock.sendto(krpc.build_put(b"p1", node_id, reply.token, forged), node.addr)
        refusal = krpc.parse_message(sock.recvfrom(4096)[0])
    assert isinstance(refusal, ErrorReply)
    assert refusal.code == krpc.ERROR_INVALID_SIGNATURE  # BEP 44: 206

    async with client("127.0.0.10", dht_nodes) as reader:
        assert (await reader.get_mutable(good.public_key)).item is None
        assert (await reader.put_mutable(good)).stored >= 3
        assert (await reader.get_mutable(good.public_key)).item == good

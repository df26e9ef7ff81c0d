"""The BEP 44 client against scripted KRPC peers: forged items, bad packets, refusals."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

import pytest
from fakekrpc import (  # close_fake_nodes: an autouse fixture
    FakeNode,
    close_fake_nodes,  # noqa: F401
    fake_node,
    node_holding,
)

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item
from swarmfeed.dht import krpc
from swarmfeed.dht.client import DhtClient
from swarmfeed.dht.krpc import NodeInfo, Query
from swarmfeed.errors import InvalidSignature

pytestmark = pytest.mark.anyio

AUTHOR_SEED = bytes(range(32))
GOOD = sign_item(AUTHOR_SEED, bencoding.encode({"ih": b"i" * 20, "n": 3}), 3)
# Same key and a higher seq, but the signature belongs to seq 3: a forged head.
FORGED = MutableItem(
    GOOD.public_key, 7, bencoding.encode({"ih": b"x" * 20, "n": 9}), GOOD.signature
)
# A valid item, but signed by someone else than the key asked for.
STRANGER = sign_item(os.urandom(32), GOOD.value, 8)


def client_for(*nodes: FakeNode, **options: Any) -> DhtClient:
    return DhtClient("127.0.0.40", lambda: [node.addr for node in nodes], timeout=0.5, **options)


async def test_a_forged_item_is_dropped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    forger = await node_holding("127.0.0.31", FORGED)
    honest = await node_holding("127.0.0.32", GOOD)
    with caplog.at_level(logging.WARNING, logger="swarmfeed.dht"):
        async with client_for(forger, honest) as dht:
            result = await dht.get_mutable(GOOD.public_key)
    assert result.item == GOOD  # seq 3 wins over the forged seq 7
    assert result.responders == 2
    assert {holder.node.addr for holder in result.tokens} == {forger.addr, honest.addr}
    assert {holder.seq for holder in result.tokens} == {None, 3}
    assert "invalid item" in caplog.text


async def test_a_poll_verifies_and_logs_a_forged_item_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The forged seq 7 is above newer_than, so the poll checks it as possible news; the result
    # must reuse that check, not verify (and log) the same reply again.
    forger = await node_holding("127.0.0.31", FORGED)
    with caplog.at_level(logging.WARNING, logger="swarmfeed.dht"):
        async with client_for(forger) as dht:
            result = await dht.get_mutable(GOOD.public_key, newer_than=2)
    assert result.item is None
    assert result.responders == 1
    assert caplog.text.count("invalid item") == 1


async def test_an_item_under_another_key_is_dropped() -> None:
    stranger = await node_holding("127.0.0.31", STRANGER)
    async with client_for(stranger) as dht:
        result = await dht.get_mutable(GOOD.public_key)
    assert result.item is None
    assert result.responders == 1


async def test_the_lookup_follows_closer_nodes() -> None:
    holder = await node_holding("127.0.0.33", GOOD)
    cell: list[FakeNode] = []

    def refer(query: Query, addr: tuple[str, int]) -> bytes:
        del addr
        return krpc.build_response(query.tid, cell[0].node_id, nodes=[holder.info])

    seed = await fake_node("127.0.0.34", refer)
    cell.append(seed)
    async with client_for(seed) as dht:
        result = await dht.get_mutable(GOOD.public_key)
    assert result.item == GOOD
    assert result.responders == 2
    assert result.queried == 2
    assert [h.node.addr for h in result.tokens] == [holder.addr]  # the seed gave no token
    assert holder.queries[0].read_only  # BEP 43


async def test_garbage_and_spoofed_replies_are_ignored() -> None:
    spoofer_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spoofer_socket.bind(("127.0.0.36", 0))

    def misbehave(query: Query, addr: tuple[str, int]) -> list[bytes]:
        # A reply with the right tid from another address must not count either.
        spoofer_socket.sendto(krpc.build_response(query.tid, b"s" * 20, token=b"t"), addr)
        return [
            b"not bencoding",
            b"d1:t2:xx1:y1:re",
            bencoding.encode({"t": b"zz", "y": "r", "r": {"id": b"i" * 20}}),
            bencoding.encode({"t": query.tid, "y": "r", "r": {"id": b"short"}}),  # malformed
            krpc.build_response(query.tid, b"late" * 5, token=b"t"),  # after the malformed one
        ]

    liar = await fake_node("127.0.0.35", misbehave)
    try:
        async with client_for(liar) as dht:
            result = await dht.get_mutable(GOOD.public_key)
    finally:
        spoofer_socket.close()
    assert result.item is None
    assert result.responders == 0
    assert result.tokens == ()


async def test_silent_and_erroring_nodes_end_the_lookup_in_time() -> None:
    silent = await fake_node("127.0.0.37", lambda query, addr: None)
    error = await fake_node(
        "127.0.0.38", lambda query, addr: krpc.build_error(query.tid, 202, "busy")
    )
    ghosts = [NodeInfo(os.urandom(20), "127.0.0.39", port) for port in range(20000, 20300)]
    cell: list[FakeNode] = []

    def flood(query: Query, addr: tuple[str, int]) -> bytes:
        del addr
        return krpc.build_response(query.tid, cell[0].node_id, nodes=ghosts[:40])

    flooder = await fake_node("127.0.0.41", flood)
    cell.append(flooder)
    started = time.monotonic()
    async with client_for(silent, error, flooder, max_queries=12, lookup_timeout=3.0) as dht:
        result = await dht.get_mutable(GOOD.public_key)
    assert time.monotonic() - started < 3.5
    assert result.item is None
    assert result.responders == 1
    assert result.queried <= 12


async def test_put_counts_refusals_and_never_sends_a_bad_item() -> None:
    cell: list[FakeNode] = []

    def newer(query: Query, addr: tuple[str, int]) -> bytes:
        del addr
        if query.method == b"put":
            return krpc.build_error(query.tid, 302, "old sequence number")
        return krpc.build_response(query.tid, cell[0].node_id, token=b"tok")

    refuser = await fake_node("127.0.0.42", newer)
    cell.append(refuser)
    taker = await node_holding("127.0.0.43", None)
    async with client_for(refuser, taker) as dht:
        result = await dht.put_mutable(GOOD)
        assert (result.stored, result.attempted, result.errors) == (1, 2, (302,))
        put = next(q for q in taker.queries if q.method == b"put")
        assert put.args[b"token"] == b"tok"
        assert put.args[b"v"] == bencoding.decode(GOOD.value)
        before = len(taker.queries)
        with pytest.raises(InvalidSignature):
            await dht.put_mutable(FORGED)
    assert len(taker.queries) == before


async def test_a_poll_for_news_ends_at_the_first_verified_newer_item() -> None:
    # A node that never answers would hold the lookup for the whole query timeout (30 s here);
    # a forged "newer" item is not news. The verified seq 3 item ends the lookup at once.
    silent = await fake_node("127.0.0.37", lambda query, addr: None)
    forger = await node_holding("127.0.0.38", FORGED)
    holder = await node_holding("127.0.0.41", GOOD)
    async with DhtClient(
        "127.0.0.40",
        lambda: [silent.addr, forger.addr, holder.addr],
        timeout=30.0,
        lookup_timeout=30.0,
    ) as dht:
        result = await asyncio.wait_for(dht.get_mutable(GOOD.public_key, newer_than=2), 10.0)
    assert result.item == GOOD
    assert silent.queries  # it was asked, and not waited for


@pytest.mark.parametrize(("k", "asked"), [(1, 1), (8, 2)])
async def test_a_slow_node_among_the_closest_does_not_hold_the_lookup(k: int, asked: int) -> None:
    # With a 30 s query timeout the silent node would hold a plain lookup for 30 s; after the
    # short timeout the lookup stops waiting for it. Later lookups skip it only when k other
    # nodes answered (k=1 here); in a swarm smaller than k it is asked again (k=8).
    silent = await fake_node("127.0.0.37", lambda query, addr: None)
    holder = await node_holding("127.0.0.41", GOOD)
    async with DhtClient(
        "127.0.0.40",
        lambda: [silent.addr, holder.addr],
        timeout=30.0,
        lookup_timeout=30.0,
        short_timeout=0.2,
        k=k,
    ) as dht:
        result = await asyncio.wait_for(dht.get_mutable(GOOD.public_key), 10.0)
        again = await asyncio.wait_for(dht.get_mutable(GOOD.public_key), 10.0)
    assert result.item == GOOD and again.item == GOOD
    assert len(silent.queries) == asked


async def test_queries_to_the_read_only_client_get_a_rate_limited_error() -> None:
    """A node that put us in its routing table learns at once that we answer nothing (BEP 43)."""
    client = client_for()
    await client.start()
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[bytes] = asyncio.Queue()

    class Querier(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            received.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Querier, local_addr=("127.0.0.41", 0))
    try:
        ping = bencoding.encode({"t": b"aa", "y": b"q", "q": b"ping", "a": {"id": b"i" * 20}})
        transport.sendto(ping, client.local_address)
        reply = krpc.parse_message(await asyncio.wait_for(received.get(), 5))
        assert isinstance(reply, krpc.ErrorReply)
        assert (reply.tid, reply.code) == (b"aa", krpc.ERROR_GENERIC)
        # A second query within the reply interval, and one with an oversized transaction id,
        # get nothing back: answering costs no more than one small packet per 2 s and IP.
        transport.sendto(ping.replace(b"2:aa", b"2:bb"), client.local_address)
        other = await loop.create_datagram_endpoint(Querier, local_addr=("127.0.0.42", 0))
        long_tid = bencoding.encode({"t": b"x" * 40, "y": b"q", "q": b"ping", "a": {}})
        other[0].sendto(long_tid, client.local_address)
        other[0].sendto(ping.replace(b"2:aa", b"2:cc"), client.local_address)
        reply = krpc.parse_message(await asyncio.wait_for(received.get(), 5))
        assert isinstance(reply, krpc.ErrorReply) and reply.tid == b"cc"
        assert received.empty()
        other[0].close()
    finally:
        transport.close()
        await client.close()

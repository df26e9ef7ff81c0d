"""Send pacing and head puts under bursts, against scripted KRPC peers on 127.0.0.170-179.

A query cancelled while it waits for its send slot must leave the slot to the next query, and a
burst of posts must cost one put in flight and one of the newest head: replaced puts cost
nothing, so another author's lookup does not wait behind them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fakekrpc import (  # close_fake_nodes: an autouse fixture
    FakeNode,
    close_fake_nodes,  # noqa: F401
    fake_node,
    node_holding,
)

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item
from swarmfeed.core.identity import KeyPair
from swarmfeed.dht import krpc
from swarmfeed.dht.client import DhtClient
from swarmfeed.dht.krpc import Query
from swarmfeed.dht.pacing import Pacer
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.node.events import EventBus
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.publisher import Publisher
from swarmfeed.node.torrents import TorrentShelf
from swarmfeed.store.database import Database
from swarmfeed.supervisor import Supervisor

pytestmark = pytest.mark.anyio

AUTHOR_SEED = bytes(range(32))
OTHER_SEED = bytes(range(1, 33))

BURST = 40
"""Queries (or posts) in a burst: 40 slots of 0.3 s would be 12 s of waiting if kept."""

# Safety net: the paced queries that matter take one or two 0.3 s slots; the slots a burst
# would have reserved add up to 12 s.
PROMPT = 6.0


def head(seq: int, seed: bytes = AUTHOR_SEED) -> MutableItem:
    return sign_item(seed, bencoding.encode({"ih": bytes([seq % 256]) * 20, "n": seq}), seq)


GOOD = head(3)


async def until(condition: object, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (fake peers raise no event of their own)."""

    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)  # a fake peer's queries are only visible by looking

    await asyncio.wait_for(poll(), timeout)


async def test_pacer_spaces_packets_and_skips_cancelled_waiters() -> None:
    pacer = Pacer(0.2)
    sent: list[str] = []

    async def send(name: str) -> None:
        await pacer.wait("127.0.0.170")
        sent.append(name)

    first = asyncio.create_task(send("first"))
    queued = [asyncio.create_task(send(f"cancelled-{i}")) for i in range(BURST)]
    await first
    for task in queued:
        task.cancel()
    await asyncio.gather(*queued, return_exceptions=True)
    started = asyncio.get_running_loop().time()
    # The next packet takes the slot right after the first one, not the 41st.
    assert pacer.estimate("127.0.0.170") <= started + 0.2
    await asyncio.wait_for(send("next"), PROMPT)
    assert sent == ["first", "next"]
    # Another address has its own line.
    assert pacer.estimate("127.0.0.171") == pytest.approx(asyncio.get_running_loop().time())
    pacer.close()


async def test_a_cancelled_lookup_leaves_its_slots_to_the_next_one() -> None:
    holder = await node_holding("127.0.0.172", GOOD)
    async with DhtClient("127.0.0.173", lambda: [holder.addr], timeout=2.0) as dht:
        lookups = [asyncio.create_task(dht.get_mutable(GOOD.public_key)) for _ in range(BURST)]
        await until(lambda: len(holder.queries) >= 1)
        for task in lookups:
            task.cancel()
        await asyncio.gather(*lookups, return_exceptions=True)
        result = await asyncio.wait_for(dht.get_mutable(GOOD.public_key), PROMPT)
    assert result.item == GOOD
    # The cancelled lookups never sent anything: the holder saw the first one and ours.
    assert len(holder.queries) == 2


async def publisher(tmp_path: Path, dht: DhtClient) -> Publisher:
    layout = HomeLayout(tmp_path / "home")
    engine = Engine(EngineConfig(listen_interface="127.0.0.174:0"), layout.engine_state)
    return Publisher(
        KeyPair.from_seed(AUTHOR_SEED),
        layout,
        Database(layout.database),
        TorrentShelf(layout, engine),
        dht,
        EventBus(),
        time.time,
        Supervisor(),
    )


class PutGate:
    """Fake nodes that hold their answers to puts until the gate opens (a slow DHT)."""

    def __init__(self) -> None:
        self.open = False
        self.held: list[tuple[FakeNode, bytes, tuple[str, int]]] = []
        self.nodes: list[FakeNode] = []

    async def node(self, host: str) -> FakeNode:
        cell: list[FakeNode] = []

        def handle(query: Query, addr: tuple[str, int]) -> bytes | None:
            node = cell[0]
            if query.method != b"put":
                return krpc.build_response(query.tid, node.node_id, token=b"tok")
            if self.open:
                return krpc.build_response(query.tid, node.node_id)
            self.held.append((node, query.tid, addr))
            return None

        node = await fake_node(host, handle)
        cell.append(node)
        self.nodes.append(node)
        return node

    def release(self) -> None:
        self.open = True
        for node, tid, addr in self.held:
            assert node.transport is not None
            node.transport.sendto(krpc.build_response(tid, node.node_id), addr)

    def puts(self) -> list[int]:
        return [int(q.args[b"seq"]) for n in self.nodes for q in n.queries if q.method == b"put"]


async def test_a_burst_of_heads_costs_two_puts_and_another_lookup_is_not_held(
    tmp_path: Path,
) -> None:
    gate = PutGate()
    nodes = [await gate.node(f"127.0.0.{175 + i}") for i in range(3)]
    async with DhtClient("127.0.0.178", lambda: [n.addr for n in nodes], timeout=5.0) as dht:
        author = await publisher(tmp_path, dht)
        author.schedule_put(head(1))
        await until(lambda: len(gate.held) == len(nodes))  # the first put is in flight
        # Posts keep coming while it is: each one schedules a newer head.
        for seq in range(2, BURST + 1):
            author.schedule_put(head(seq))
            await asyncio.sleep(0.005)  # the pace of posts in a burst
        # Another author's lookup on the same DHT nodes is not held behind the burst.
        other = head(1, OTHER_SEED)
        lookup = await asyncio.wait_for(dht.get_mutable(other.public_key), PROMPT)
        gate.release()
        await asyncio.wait_for(author.wait_published(), PROMPT)
        await author.close()
    assert lookup.responders == len(nodes)
    # Of the 40 heads only the first (in flight) and the newest were put, once per node.
    assert sorted(gate.puts()) == [1] * len(nodes) + [BURST] * len(nodes)


async def test_heads_reach_the_dht_while_posts_keep_coming(tmp_path: Path) -> None:
    # A post every 50 ms for 3 s; a put takes a lookup and a paced put (0.3 s at least). A
    # newer head must not cancel the put in flight, or no head is stored until the burst ends.
    gate = PutGate()
    gate.open = True
    nodes = [await gate.node(f"127.0.0.{179 + i}") for i in range(3)]
    async with DhtClient("127.0.0.182", lambda: [n.addr for n in nodes], timeout=5.0) as dht:
        author = await publisher(tmp_path, dht)
        posts = 60
        for seq in range(1, posts + 1):
            author.schedule_put(head(seq))
            await asyncio.sleep(0.05)  # the pace of posts in a burst
        stored_during_burst = sorted(set(gate.puts()))
        await asyncio.wait_for(author.wait_published(), PROMPT)
        await author.close()
    assert stored_during_burst, "no head was put while the posts kept coming"
    assert max(gate.puts()) == posts
    # Each put stands for every head before it: far fewer puts than posts.
    assert len(set(gate.puts())) < posts // 4

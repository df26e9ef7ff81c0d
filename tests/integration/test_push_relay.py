"""The push tree with in-process nodes: relaying past the author, and a malicious holder.

Real libtorrent sessions, the real DHT client and the real UDP channel on 127.0.0.220-226. Polls
run only every hour here, so every post a follower shows came through the push channel.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from swarmfeed.core.bep44 import MutableItem, sign_item
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.push import wire
from swarmfeed.dht.client import DhtClient
from swarmfeed.dht.peers import announce_peer
from swarmfeed.localswarm import free_port
from swarmfeed.node.config import Settings
from swarmfeed.node.node import Node

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_node(tmp: Path, name: str, ip: str, bootstrap: list[str], **push: int) -> Node:
    """Build a node that polls only hourly; its push channel binds any free port."""
    bt_port = free_port(ip)
    settings = Settings(
        home=tmp / name,
        listen=f"{ip}:{bt_port}",
        http=f"{ip}:{free_port(ip, avoid={bt_port})}",
        bootstrap=bootstrap,
        public_dht=False,
        poll_interval=3600,
        republish_interval=3600,
        push_port=0,
        **push,
    )
    return Node(settings, KeyPair.generate())


async def eventually(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until ``check()`` holds (node state changes have no single event to await)."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def holds(node: Node, post_id: str) -> bool:
    return any(p.id == post_id for p in node.timeline(limit=100))


@pytest.fixture
async def trio(tmp_path: Path) -> AsyncIterator[tuple[Node, Node, Node]]:
    author = make_node(tmp_path, "author", "127.0.0.220", [], push_max_children=1)
    first = make_node(tmp_path, "first", "127.0.0.221", [author.settings.listen])
    second = make_node(
        tmp_path, "second", "127.0.0.222", [author.settings.listen, first.settings.listen]
    )
    for node in (author, first, second):
        await node.start()
    try:
        yield author, first, second
    finally:
        for node in (second, first, author):
            await node.stop()


async def test_a_follower_the_author_refuses_gets_posts_through_another(
    trio: tuple[Node, Node, Node],
) -> None:
    author, first, second = trio
    key = author.author
    opening = await author.create_post("before anyone followed")
    await author.publisher.wait_published()  # the follow finds it with one DHT lookup
    first.follow(author.keys.public_key)
    await eventually(
        "the first follower is pushed to directly",
        lambda: first.push_status(key).path_length == 1 and holds(first, opening.id),
    )
    # The author takes one subscriber only: the second follower must go through the first.
    second.follow(author.keys.public_key)
    await eventually(
        "the second follower is live through the first",
        lambda: second.push_status(key).path_length == 2 and holds(second, opening.id),
    )
    own_before = author.push_stats().own_pushes
    relayed = await author.create_post("relayed by the first follower")
    await eventually(
        "the second follower shows the relayed post", lambda: holds(second, relayed.id)
    )
    assert author.push_stats().own_pushes - own_before == 1  # one subscriber, one message
    assert second.push_stats().heads_received == 1
    assert second.push_status(key) == first.push_status(key).__class__(True, 2, 1)


@dataclass
class Mallory:
    """A malicious holder: announces itself at the author's rendezvous, accepts subscriptions."""

    author: bytes
    transport: asyncio.DatagramTransport | None = None
    subscribers: list[tuple[str, int]] = field(default_factory=list)
    inbox: list[tuple[wire.Message, int]] = field(default_factory=list)

    def answer(self, data: bytes, addr: tuple[str, int]) -> None:
        message = wire.decode(data)
        self.inbox.append((message, len(data)))
        if isinstance(message, wire.Subscribe) and self.transport is not None:
            token = b"mallory!"
            if message.token == token:
                self.subscribers.append(addr)
                reply = wire.Reply(message.tid, token=token, ttl=300, hops=0)  # a lie: "author"
            else:
                reply = wire.Reply(message.tid, token=token)
            self.transport.sendto(wire.encode(reply), addr)

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)


class _Mallory(asyncio.DatagramProtocol):
    def __init__(self, mallory: Mallory) -> None:
        self.mallory = mallory

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.mallory.answer(data, addr)


async def test_forged_replayed_oversized_and_flooding_messages_are_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    author = make_node(tmp_path, "author", "127.0.0.223", [])
    fan = make_node(tmp_path, "fan", "127.0.0.224", [author.settings.listen])
    mallory_ip = "127.0.0.225"
    mallory = Mallory(author.keys.public_key)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Mallory(mallory), local_addr=(mallory_ip, 0)
    )
    mallory.transport = transport
    mallory_addr = transport.get_extra_info("sockname")[:2]
    seeds = [author.settings.listen_endpoint, fan.settings.listen_endpoint]
    await author.start()
    await fan.start()
    try:
        async with DhtClient(mallory_ip, lambda: seeds) as dht:
            await _attack(author, fan, mallory, mallory_addr, dht)
    finally:
        transport.close()
        await fan.stop()
        await author.stop()
    assert "push channel refused a forged head" in caplog.text
    assert "push channel refused a replayed or outdated head" in caplog.text
    assert "push channel refused an oversized datagram" in caplog.text
    assert caplog.text.count("over the per-sender rate limit") == 2  # once per node, not per packet


async def _attack(
    author: Node, fan: Node, mallory: Mallory, mallory_addr: tuple[str, int], dht: DhtClient
) -> None:
    key = author.author
    # Mallory makes herself a candidate holder of the author before the fan follows.
    stored = await announce_peer(dht, wire.rendezvous_key(author.keys.public_key), mallory_addr[1])
    assert stored.stored > 0
    opening = await author.create_post("before anyone followed")
    await author.publisher.wait_published()  # the follow finds it with one DHT lookup
    fan.follow(author.keys.public_key)
    await eventually(
        "the fan subscribed to the author and to mallory",
        lambda: (
            fan.push_status(key).parents == 2
            and bool(mallory.subscribers)
            and holds(fan, opening.id)
        ),
    )
    fan_addr = mallory.subscribers[0]
    old = author.publisher.own_head()
    second = await author.create_post("the second post")
    await eventually("the fan shows the second post", lambda: holds(fan, second.id))
    genuine = author.publisher.own_head()
    assert old is not None and genuine is not None
    before = fan.db.feeds.head(key)
    assert before is not None and before.seq == genuine.seq

    forged = MutableItem(author.keys.public_key, genuine.seq + 1, genuine.value, b"\x01" * 64)
    stranger = sign_item(os.urandom(32), genuine.value, 99)
    attacks = [
        wire.encode(wire.Push(b"f1", forged, 0)),  # a forged signature
        wire.encode(wire.Push(b"r1", old, 0)),  # a replay of an older genuine head
        wire.encode(wire.Push(b"r2", genuine, 0)),  # the current head again: a duplicate
        wire.encode(wire.Push(b"s1", stranger, 0)),  # validly signed, of an author not followed
        b"d" + b"x" * 3000,  # oversized
        b"i42e",  # malformed
    ]
    for data in attacks:
        mallory.send(data, fan_addr)
    await eventually(
        "the fan counted every refusal",
        lambda: sum(fan.push_stats().refused.values()) >= 4,
        timeout=10,
    )
    refused = fan.push_stats().refused
    assert refused["a forged head"] == 1
    assert refused["a replayed or outdated head"] == 1
    assert refused["a push of an author not followed"] == 1
    assert refused["an oversized datagram"] == 1
    # A flood against both nodes: 400 pushes at the fan, 400 subscriptions at the author (the
    # kernel may drop part of it: the socket buffers can be smaller than the burst).
    for index in range(400):
        tid = index.to_bytes(2, "big")
        mallory.send(wire.encode(wire.Push(tid, forged, 0)), fan_addr)
        mallory.send(wire.encode(wire.Subscribe(tid, author.keys.public_key)), author.push.endpoint)
    await eventually(
        "the floods were throttled",
        lambda: (
            fan.push_stats().refused.get("a datagram over the per-sender rate limit", 0) > 0
            and author.push_stats().refused.get("a datagram over the per-sender rate limit", 0) > 0
        ),
        timeout=10,
    )
    # The author answered only the first burst, each reply smaller than the request.
    answers = [size for message, size in mallory.inbox if isinstance(message, wire.Reply)]
    assert len(answers) <= author.push.config.rpc.per_host_burst + 2
    assert all(
        size < len(wire.encode(wire.Subscribe(b"xx", author.keys.public_key))) for size in answers
    )
    # Nothing else was disturbed: same head and posts, still live, and the next post arrives.
    assert fan.db.feeds.head(key) == before
    assert fan.push_stats().duplicates == 1
    assert [p.id for p in fan.author_posts(key)] == [second.id, opening.id]
    assert fan.push_status(key).live
    assert author.push_stats().subscribers == 1
    news = await author.create_post("after the attack")
    await eventually("the fan shows the next post", lambda: holds(fan, news.id))
    assert fan.push_stats().heads_received == 2  # the opening head came by the follow's lookup

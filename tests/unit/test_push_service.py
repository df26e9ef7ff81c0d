"""The push service over an in-memory datagram network and rendezvous (no sockets, no DHT).

Many nodes in one process: the tree forms, every follower is offered each new head, the author
sends at most its fan-out, relays reach nodes the author refuses, and abuse is refused without
disturbing delivery. The same service runs over real UDP and the DHT in tests/integration.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem, sign_item
from swarmfeed.core.push import wire
from swarmfeed.core.push.children import ChildLimits
from swarmfeed.core.push.parents import ParentPolicy
from swarmfeed.core.push.wire import rendezvous_key
from swarmfeed.push.rendezvous import Found
from swarmfeed.push.rpc import RpcLimits
from swarmfeed.push.service import PushService
from swarmfeed.push.types import PushConfig
from swarmfeed.push.udp import Address, Datagrams, Handler

pytestmark = pytest.mark.anyio

SEED = bytes(range(32))
AUTHOR = sign_item(SEED, b"i0e", 0).public_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class MemoryNet:
    """Datagrams between in-process endpoints, delivered on the next loop turn."""

    def __init__(self) -> None:
        self.handlers: dict[Address, Handler] = {}
        self.cut: set[frozenset[str]] = set()  # host pairs that cannot reach each other
        self.log: list[tuple[Address, Address, bytes]] = []

    def bind(self, host: str) -> Callable[[Handler], object]:
        async def bind(handler: Handler) -> Datagrams:
            addr = (host, 7000)
            self.handlers[addr] = handler
            return MemoryDatagrams(self, addr)

        return bind

    def send(self, src: Address, dst: Address, data: bytes) -> None:
        self.log.append((src, dst, data))
        handler = self.handlers.get(dst)
        if handler is not None and frozenset((src[0], dst[0])) not in self.cut:
            asyncio.get_running_loop().call_soon(handler, data, src)

    def sent_by(self, host: str, method: bytes) -> int:
        return sum(
            1
            for src, _, data in self.log
            if src[0] == host and bencoding.decode(data).get(b"q") == method
        )


@dataclass
class MemoryDatagrams:
    net: MemoryNet
    addr: Address

    @property
    def local_address(self) -> Address:
        return self.addr

    def send(self, data: bytes, addr: Address) -> None:
        self.net.send(self.addr, addr, data)

    def close(self) -> None:
        self.net.handlers.pop(self.addr, None)


@dataclass
class MemoryRendezvous:
    table: dict[bytes, list[Address]]
    host: str

    async def meet(self, author: bytes, port: int | None) -> Found:
        holders = self.table.setdefault(rendezvous_key(author), [])
        found = tuple(holders)
        if port is not None and (self.host, port) not in holders:
            holders.append((self.host, port))
        return Found(found, port is not None)


@dataclass
class Peer:
    host: str
    service: PushService
    offered: list[MutableItem] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    stored: MutableItem | None = None
    failures_left: int = 0
    """Offers that "fail" (are not stored), as a head check failing transiently would."""


FAST = ParentPolicy(
    retry_after=0.05, full_cooldown=0.2, provisional_recheck=0.05, lookup_first=0.05, lookup_max=0.2
)


class Swarm:
    def __init__(self, children: ChildLimits | None = None, rpc: RpcLimits | None = None) -> None:
        self.net = MemoryNet()
        self.table: dict[bytes, list[Address]] = {}
        self.children = children or ChildLimits()
        self.rpc = rpc or RpcLimits(timeout=0.3)
        self.peers: list[Peer] = []
        self.rng = random.Random(3)

    async def add(self, host: str, key: bytes, children: ChildLimits | None = None) -> Peer:
        config = PushConfig(
            children=children or self.children,
            parents=FAST,
            rpc=self.rpc,
            reoffer_after=0.05,
        )
        peer: Peer

        def offer(author: str, item: MutableItem) -> None:
            assert author == item.public_key.hex()
            peer.offered.append(item)
            peer.arrived.set()
            if peer.failures_left:
                peer.failures_left -= 1
            else:
                peer.stored = item

        service = PushService(
            key,
            config,
            MemoryRendezvous(self.table, host),
            offer_head=offer,
            stored_head=lambda author: peer.stored,
            bind=self.net.bind(host),  # type: ignore[arg-type]
            rng=self.rng,
        )
        peer = Peer(host, service)
        await service.start()
        self.peers.append(peer)
        return peer

    async def close(self) -> None:
        await asyncio.gather(*(peer.service.close() for peer in self.peers))


@pytest.fixture
async def swarm() -> AsyncIterator[Swarm]:
    made = Swarm()
    yield made
    await made.close()


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)  # the in-memory services expose no event for this


def head(seq: int) -> MutableItem:
    return sign_item(SEED, bencoding.encode({"ih": bytes([seq]) * 20, "n": seq}), seq)


async def followers(swarm: Swarm, count: int, first: int = 10) -> list[Peer]:
    peers = [await swarm.add(f"10.0.0.{first + i}", bytes([first + i]) * 32) for i in range(count)]
    for peer in peers:
        peer.service.track(AUTHOR.hex())
    return peers


async def test_a_new_head_reaches_thirty_followers_with_fan_out_eight(swarm: Swarm) -> None:
    author = await swarm.add("10.0.0.1", AUTHOR)
    fans = await followers(swarm, 30)
    await until(lambda: all(f.service.status(AUTHOR.hex()).live for f in fans))
    for seq in (1, 2, 3):
        before = author.service.stats().own_pushes
        author.service.on_own_head(head(seq))
        await until(lambda s=seq: all(f.offered and f.offered[-1].seq == s for f in fans))
        assert author.service.stats().own_pushes - before <= 8
    assert swarm.net.sent_by("10.0.0.1", b"push") <= 3 * 8
    await asyncio.sleep(0.2)  # longer than the re-offer pause: stored heads are not offered again
    assert [len(f.offered) for f in fans] == [3] * 30  # each head offered exactly once
    lengths = [f.service.status(AUTHOR.hex()).path_length for f in fans]
    assert all(length is not None and length >= 1 for length in lengths)
    assert lengths.count(1) <= 8
    assert max(lengths) <= 4, lengths  # type: ignore[type-var]
    # Every node sends at most its fan-out per head; duplicates are dropped, not relayed.
    for peer in [author, *fans]:
        assert swarm.net.sent_by(peer.host, b"push") <= 3 * 8
    assert author.service.stats().subscribers <= 8


async def test_a_follower_the_author_refuses_gets_heads_through_another(swarm: Swarm) -> None:
    author = await swarm.add("10.0.0.1", AUTHOR, children=ChildLimits(per_author=1))
    first = (await followers(swarm, 1))[0]
    await until(lambda: first.service.status(AUTHOR.hex()).path_length == 1)
    # The second follower cannot reach the author at all.
    swarm.net.cut.add(frozenset(("10.0.0.1", "10.0.0.20")))
    second = (await followers(swarm, 1, first=20))[0]
    await until(lambda: second.service.status(AUTHOR.hex()).live)
    author.service.on_own_head(head(1))
    await asyncio.wait_for(second.arrived.wait(), 5)
    assert second.offered == [head(1)]
    assert second.service.status(AUTHOR.hex()).path_length == 2
    assert author.service.stats().own_pushes == 1


async def test_heads_stored_after_a_poll_are_relayed_once(swarm: Swarm) -> None:
    author = await swarm.add("10.0.0.1", AUTHOR, children=ChildLimits(per_author=1))
    middle, leaf = await followers(swarm, 2)
    await until(lambda: all(p.service.status(AUTHOR.hex()).live for p in (middle, leaf)))
    await author.service.close()  # the author is gone; the middle node polls the DHT
    swarm.peers.remove(author)
    item = head(5)
    pushes_before = swarm.net.sent_by(middle.host, b"push")
    middle.service.on_head_stored(AUTHOR.hex(), item)
    middle.service.on_head_stored(AUTHOR.hex(), item)  # e.g. stored again after a restart
    await asyncio.wait_for(leaf.arrived.wait(), 5)
    await asyncio.sleep(0.05)
    assert leaf.offered == [item]
    assert middle.offered == []  # the leaf does not send it back where it came from
    assert swarm.net.sent_by(middle.host, b"push") - pushes_before == 1


async def test_untracking_unsubscribes_and_refuses_later_pushes(swarm: Swarm) -> None:
    author = await swarm.add("10.0.0.1", AUTHOR)
    fan = (await followers(swarm, 1))[0]
    await until(lambda: author.service.stats().subscribers == 1)
    fan.service.untrack(AUTHOR.hex())
    await until(lambda: author.service.stats().subscribers == 0)
    assert not fan.service.status(AUTHOR.hex()).live
    author.service.on_own_head(head(1))
    await asyncio.sleep(0.1)
    assert fan.offered == []


# -- abuse ------------------------------------------------------------------------------------


class Attacker:
    """A raw endpoint on the in-memory network that speaks the wire format by hand."""

    def __init__(self, net: MemoryNet, host: str) -> None:
        self.net = net
        self.addr = (host, 6666)
        self.inbox: list[wire.Message] = []
        net.handlers[self.addr] = lambda data, src: self.inbox.append(wire.decode(data))

    def send(self, dst: Address, data: bytes) -> None:
        self.net.send(self.addr, dst, data)


async def test_forged_replayed_oversized_and_flooding_messages_are_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    swarm = Swarm(rpc=RpcLimits(timeout=0.3, per_host_rate=5.0, per_host_burst=20.0))
    try:
        await _abuse(swarm, caplog)
    finally:
        await swarm.close()


async def _abuse(swarm: Swarm, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="swarmfeed.push")
    author = await swarm.add("10.0.0.1", AUTHOR)
    fan = (await followers(swarm, 1))[0]
    await until(lambda: fan.service.status(AUTHOR.hex()).live)
    author.service.on_own_head(head(1))
    await until(lambda: len(fan.offered) == 1)
    fan_addr = fan.service.endpoint
    author_addr = author.service.endpoint
    assert fan_addr is not None and author_addr is not None
    mallory = Attacker(swarm.net, "10.0.0.66")

    # A push from a node the follower never subscribed to is refused before any verification.
    mallory.send(fan_addr, wire.encode(wire.Push(b"x", head(9), 0)))
    # A forged head, sent from the real parent's address (as a spoofer would).
    forged = MutableItem(AUTHOR, 10, head(10).value, b"\x00" * 64)
    swarm.net.send(author_addr, fan_addr, wire.encode(wire.Push(b"x", forged, 0)))
    # A replay of an older genuine head from the parent's address.
    swarm.net.send(author_addr, fan_addr, wire.encode(wire.Push(b"x", head(0), 0)))
    # Oversized and malformed datagrams.
    mallory.send(fan_addr, b"d" + b"x" * 2000)
    mallory.send(fan_addr, b"garbage")
    # A method this version does not know is answered with error 204, no larger than asked:
    # a tiny query gets no answer at all.
    later = {"sf": 1, "t": b"n1", "y": "q", "q": "later", "a": {"n": b"x" * 64}}
    mallory.send(author_addr, bencoding.encode(later))
    mallory.send(author_addr, bencoding.encode({"sf": 1, "t": b"n2", "y": "q", "q": "x"}))
    # A subscription without a token gets only a token, smaller than the request; a wrong
    # token stores nothing.
    mallory.send(author_addr, wire.encode(wire.Subscribe(b"s1", AUTHOR)))
    mallory.send(author_addr, wire.encode(wire.Subscribe(b"s2", AUTHOR, b"\x00" * 8)))
    await asyncio.sleep(0.1)
    assert fan.offered == [head(1)]
    assert author.service.stats().subscribers == 1
    assert [type(m).__name__ for m in mallory.inbox] == ["ErrorMessage", "Reply", "Reply"]
    error, first, second = mallory.inbox
    assert isinstance(error, wire.ErrorMessage) and error.code == wire.ERROR_METHOD_UNKNOWN
    assert isinstance(first, wire.Reply) and first.ttl is None and first.token is not None
    assert isinstance(second, wire.Reply) and second.ttl is None
    for _, dst, data in swarm.net.log:
        if dst == mallory.addr:
            assert len(data) < len(wire.encode(wire.Subscribe(b"s1", AUTHOR)))
    refused = fan.service.stats().refused
    assert refused["a push from a node not subscribed to"] == 1
    assert refused["a forged head"] == 1
    assert refused["a replayed or outdated head"] == 1
    assert refused["an oversized datagram"] == 1
    assert refused["a malformed message"] == 1
    assert author.service.stats().refused["to answer larger than asked (no amplification)"] == 1
    for reason in ("forged head", "replayed or outdated head", "oversized datagram"):
        assert reason in caplog.text

    # A flood: 500 subscriptions in one go. The per-sender limit answers the first burst only
    # and logs the refusal once; the author keeps serving its follower.
    mallory.inbox.clear()
    for index in range(500):
        mallory.send(author_addr, wire.encode(wire.Subscribe(index.to_bytes(2, "big"), AUTHOR)))
    await asyncio.sleep(0.1)
    assert len(mallory.inbox) <= 21
    assert author.service.stats().refused["a datagram over the per-sender rate limit"] >= 479
    assert caplog.text.count("per-sender rate limit") == 1
    author.service.on_own_head(head(2))
    await until(lambda: len(fan.offered) == 2)
    assert fan.offered[-1] == head(2)


async def test_a_burst_of_heads_is_rate_limited_but_the_newest_always_goes_out(
    swarm: Swarm,
) -> None:
    author = await swarm.add("10.0.0.1", AUTHOR)
    fan = (await followers(swarm, 1))[0]
    await until(lambda: fan.service.status(AUTHOR.hex()).live)
    burst = int(author.service.config.relay_burst)
    for seq in range(1, 2 * burst + 1):
        author.service.on_own_head(head(seq))
    assert author.service.stats().own_pushes == burst  # the rest is held back...
    await until(lambda: bool(fan.offered) and fan.offered[-1].seq == 2 * burst)
    assert author.service.stats().own_pushes == burst + 1  # ...and only the newest follows
    assert [item.seq for item in fan.offered] == [*range(1, burst + 1), 2 * burst]


async def test_a_pushed_head_the_follower_failed_to_store_is_offered_again(swarm: Swarm) -> None:
    author = await swarm.add("10.0.0.1", AUTHOR)
    fan = (await followers(swarm, 1))[0]
    await until(lambda: fan.service.status(AUTHOR.hex()).live)
    fan.failures_left = 2  # the first two head checks fail (e.g. a page read too early)
    author.service.on_own_head(head(1))
    await until(lambda: fan.stored == head(1))
    await asyncio.sleep(0.5)
    assert fan.offered == [head(1)] * 3  # offered, offered again twice, then stored: no more
    assert author.service.stats().own_pushes == 1  # re-offers are local, nothing is re-sent

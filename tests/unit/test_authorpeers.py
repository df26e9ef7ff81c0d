"""The author rendezvous: one announce per held author, one lookup per author and TTL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from swarmfeed.core.rendezvous import peers_key
from swarmfeed.node.authorpeers import (
    ANNOUNCE_INTERVAL,
    EMPTY_LOOKUP_TTL,
    LOOKUP_TTL,
    MAX_STRANGERS,
    AuthorPeers,
    wait_metadata_with_peers,
)
from swarmfeed.supervisor import Supervisor

pytestmark = pytest.mark.anyio

Endpoint = tuple[str, int]
ALICE = "aa" * 32
BOB = "bb" * 32


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeEngine:
    """Records announces and answers lookups from a fixed table."""

    def __init__(self, table: dict[bytes, list[Endpoint]]) -> None:
        self.table = table
        self.announced: list[bytes] = []
        self.looked_up: list[bytes] = []
        self.hints: dict[str, list[Endpoint]] = {}
        self.announce_seen = asyncio.Event()

    def announce_rendezvous(self, key: bytes) -> None:
        self.announced.append(key)
        self.announce_seen.set()

    async def find_rendezvous(self, key: bytes, *, timeout: float, want: int = 1) -> list[Endpoint]:
        self.looked_up.append(key)
        return list(self.table.get(key, []))

    def peer_hints(self, infohashes: Iterable[str]) -> list[Endpoint]:
        return [p for ih in infohashes for p in self.hints.get(ih, [])]

    async def wait_dht_nodes(self, count: int, timeout: float | None = None) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(engine: FakeEngine, clock: Clock) -> AuthorPeers:
    return AuthorPeers(
        engine, Supervisor(), lambda author, limit: [f"{author[:2]}-{i}" for i in range(2)], clock
    )


async def test_one_lookup_per_author_until_the_result_is_stale() -> None:
    engine = FakeEngine({peers_key(bytes.fromhex(ALICE)): [("127.0.0.9", 6881)]})
    clock = Clock()
    book = make(engine, clock)
    for _ in range(50):
        assert await book.peers(ALICE) == [("127.0.0.9", 6881)]
    assert engine.looked_up == [peers_key(bytes.fromhex(ALICE))]
    clock.now += LOOKUP_TTL + 1
    await book.peers(ALICE)
    await asyncio.sleep(0)  # the background refresh runs
    assert len(engine.looked_up) == 2
    assert book.lookups == 2


async def test_a_lookup_that_found_nobody_is_repeated_soon() -> None:
    key = peers_key(bytes.fromhex(ALICE))
    engine = FakeEngine({})
    clock = Clock()
    book = make(engine, clock)
    assert await book.peers(ALICE) == []
    clock.now += EMPTY_LOOKUP_TTL / 2
    assert await book.peers(ALICE) == []
    assert engine.looked_up == [key]
    engine.table[key] = [("127.0.0.9", 6881)]  # the author's announce landed meanwhile
    clock.now += EMPTY_LOOKUP_TTL
    assert await book.peers(ALICE) == [("127.0.0.9", 6881)]
    clock.now += EMPTY_LOOKUP_TTL + 1
    await book.peers(ALICE)
    assert engine.looked_up == [key, key]  # peers found: kept for LOOKUP_TTL


async def test_peers_of_the_authors_recent_torrents_count_without_a_lookup_result() -> None:
    engine = FakeEngine({})
    engine.hints["aa-1"] = [("127.0.0.7", 7000)]
    book = make(engine, Clock())
    assert await book.peers(ALICE) == [("127.0.0.7", 7000)]
    assert await book.peers(BOB) == []


async def test_held_authors_are_announced_once_per_interval_and_released() -> None:
    engine = FakeEngine({})
    clock = Clock()
    book = make(engine, clock)
    book.hold(ALICE)
    book.hold(ALICE)
    book.start()
    try:
        await asyncio.wait_for(engine.announce_seen.wait(), 5)
        engine.announce_seen.clear()
        book.hold(BOB)
        await asyncio.wait_for(engine.announce_seen.wait(), 5)
        assert engine.announced == [
            peers_key(bytes.fromhex(ALICE)),
            peers_key(bytes.fromhex(BOB)),
        ]
        book.release(ALICE)
        assert book.held() == [BOB]
        clock.now += ANNOUNCE_INTERVAL + 1
        engine.announce_seen.clear()
        book.hold(ALICE)  # wakes the loop: BOB is due again, ALICE is new
        while len(engine.announced) < 4:
            await asyncio.wait_for(engine.announce_seen.wait(), 5)
            engine.announce_seen.clear()
        assert sorted(engine.announced[2:]) == sorted(
            [peers_key(bytes.fromhex(ALICE)), peers_key(bytes.fromhex(BOB))]
        )
    finally:
        await book.supervisor.close()


async def test_authors_not_held_are_looked_up_never_announced_and_kept_bounded() -> None:
    strangers = [f"{i:064x}" for i in range(MAX_STRANGERS + 1)]
    engine = FakeEngine({peers_key(bytes.fromhex(a)): [("127.0.8.9", 6881)] for a in strangers})
    engine.table[peers_key(bytes.fromhex(ALICE))] = [("127.0.8.10", 6881)]
    book = make(engine, Clock())
    book.hold(ALICE)
    await book.peers(ALICE)
    book.start()
    try:
        await asyncio.wait_for(engine.announce_seen.wait(), 5)
        for author in strangers:  # pages read once (notices, reposted originals)
            assert await book.peers(author) == [("127.0.8.9", 6881)]
        assert book.held() == [ALICE]
        assert engine.announced == [peers_key(bytes.fromhex(ALICE))]
        # The least recently used stranger was forgotten; the last ones and ALICE were not.
        assert book.known(strangers[0]) == []
        assert book.known(strangers[-1]) == [("127.0.8.9", 6881)]
        assert book.known(ALICE) == [("127.0.8.10", 6881)]
        before = book.lookups
        await book.peers(strangers[-1])
        await book.peers(ALICE)
        assert book.lookups == before  # within LOOKUP_TTL
        await book.peers(strangers[0])
        assert book.lookups == before + 1  # looked up again, once
    finally:
        await book.supervisor.close()


async def test_holding_an_author_keeps_what_a_lookup_found_before() -> None:
    engine = FakeEngine({peers_key(bytes.fromhex(BOB)): [("127.0.8.11", 6881)]})
    book = make(engine, Clock())
    assert await book.peers(BOB) == [("127.0.8.11", 6881)]  # not held yet: a stranger
    book.hold(BOB)  # followed meanwhile
    assert await book.peers(BOB) == [("127.0.8.11", 6881)]
    assert book.lookups == 1
    book.release(BOB)
    assert book.known(BOB) == [] and book.held() == []


class SlowMetadata:
    """Metadata arrives once a peer was handed to the torrent."""

    def __init__(self) -> None:
        self.connected: list[Endpoint] = []
        self.arrived = asyncio.Event()

    async def wait_metadata(self, infohash: str, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.arrived.wait(), timeout)

    def connect_peers(self, infohash: str, peers: Iterable[Endpoint]) -> None:
        self.connected += peers
        self.arrived.set()


async def test_a_torrent_waiting_for_metadata_gets_peers_found_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("swarmfeed.node.authorpeers.PEER_REFRESH", 0.01)
    engine = SlowMetadata()
    answers = [[], [], [("127.0.0.9", 6881)]]

    async def peers() -> list[Endpoint]:
        return answers.pop(0) if answers else []

    await wait_metadata_with_peers(engine, "ab" * 20, 5.0, peers)
    assert engine.connected == [("127.0.0.9", 6881)]
    with pytest.raises(TimeoutError):
        await wait_metadata_with_peers(SlowMetadata(), "ab" * 20, 0.05, peers)

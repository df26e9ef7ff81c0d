"""Where a lookup starts (dht/seeds.py): the caller's seeds sampled, checked and resolved."""

from __future__ import annotations

import logging

import pytest

from swarmfeed.dht.seeds import MAX_SEEDS, Seeds
from swarmfeed.dht.transport import KrpcTransport

pytestmark = pytest.mark.anyio

log = logging.getLogger("swarmfeed.dht")


def seeds_of(endpoints: list[tuple[str, int]]) -> Seeds:
    # An IPv4 transport (its family before start): nothing is sent, only its family is read.
    transport = KrpcTransport("127.0.0.43", timeout=1.0, min_interval=0.0, logger=log)
    return Seeds(lambda: endpoints, transport, timeout=1.0, logger=log)


async def test_literals_are_kept_once_and_bad_ports_and_other_families_dropped() -> None:
    seeds = seeds_of(
        [
            ("127.0.0.2", 6881),
            ("127.0.0.2", 6881),
            ("127.0.0.3", 0),
            ("127.0.0.4", 1 << 16),
            ("::1", 6881),
            ("127.0.0.5", 6882),
        ]
    )
    assert await seeds.addresses() == [("127.0.0.2", 6881), ("127.0.0.5", 6882)]


async def test_at_most_max_seeds_start_a_lookup() -> None:
    endpoints = [(f"127.0.{i // 250}.{i % 250 + 1}", 6881) for i in range(MAX_SEEDS * 2)]
    addresses = await seeds_of(endpoints).addresses()
    assert len(addresses) == MAX_SEEDS
    assert set(addresses) <= set(endpoints)


async def test_a_failing_seed_callable_gives_no_seeds(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[tuple[str, int]]:
        raise RuntimeError("routing table gone")

    transport = KrpcTransport("127.0.0.43", timeout=1.0, min_interval=0.0, logger=log)
    with caplog.at_level(logging.ERROR, logger="swarmfeed.dht"):
        assert await Seeds(broken, transport, timeout=1.0, logger=log).addresses() == []
    assert "seed callable failed" in caplog.text


async def test_a_host_name_resolves_to_the_sockets_family() -> None:
    assert await seeds_of([("localhost", 6881)]).addresses() == [("127.0.0.1", 6881)]

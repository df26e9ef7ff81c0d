"""Heads offered to the follower (by the push channel or a watch) while a sync fetches pages.

One in-process node with a real libtorrent session on 127.0.7.1, no DHT peers: the offered
head names a page nobody seeds, so the sync waits for it for as long as the test needs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nodekit import make_node

from swarmfeed.core.bep44 import sign_item
from swarmfeed.core.feed import HeadPointer, encode_head_value
from swarmfeed.core.identity import KeyPair
from swarmfeed.node.follower import Outcome

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_head_offered_again_during_its_page_fetch_does_not_restart_it(
    tmp_path: Path,
) -> None:
    node = make_node(tmp_path, "follower", "127.0.7.1", [])
    await node.start()
    try:
        keys = KeyPair.generate()
        author = keys.public_key.hex()
        page = b"\x07" * 20
        head = sign_item(keys.seed, encode_head_value(HeadPointer(page, 1)), 1)
        node.follower.follow(author)
        assert node.follower.offer_head(author, head)
        while not node.engine.has(page.hex()):
            await asyncio.sleep(0.05)  # the engine signals no "added" event to await
        # The push channel re-offers a head until it is stored; the sync is fetching its page.
        assert not node.follower.offer_head(author, head)
        assert node.counters.offers["stale"] == 1
        assert node.counters.polls[Outcome.CATCHING_UP] == 0
        # A newer head still ends the wait for the old one's page at once.
        newer = sign_item(keys.seed, encode_head_value(HeadPointer(b"\x08" * 20, 2)), 2)
        assert node.follower.offer_head(author, newer)
        while not node.engine.has("08" * 20):
            await asyncio.sleep(0.05)  # the engine signals no "added" event to await
        assert node.counters.polls[Outcome.CATCHING_UP] == 1
    finally:
        await node.stop()

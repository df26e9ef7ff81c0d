"""A page of an author not followed, read through the author's rendezvous (protocol.md §7.1).

Real engines on 127.0.8.20-22 with a private DHT. The author's holder seeds the page without
announcing it in the DHT, so the reader can reach it only through the rendezvous; the holder
announces the rendezvous only after the reader's first lookup found nobody, so the page
arrives only if the reader hands over the peers a later lookup finds while the page waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from enginekit import TIMEOUT, Swarm, eventually

from swarmfeed.core.feed import PAGE_CAPACITY, FeedPage, page_sha256
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import Post, sign_post
from swarmfeed.core.rendezvous import peers_key
from swarmfeed.engine.creator import create_torrent
from swarmfeed.node.authorpeers import AuthorPeers
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.pagereader import PageReader
from swarmfeed.node.torrents import PAGE_PIECE_BYTES, TorrentShelf
from swarmfeed.supervisor import Supervisor

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

HOSTS = [f"127.0.8.{i}" for i in range(20, 23)]


@pytest.fixture
async def swarm(tmp_path: Path) -> AsyncIterator[Swarm]:
    """Engines on this module's own loopback addresses."""
    async with Swarm(tmp_path, hosts=HOSTS) as swarm:
        yield swarm


def one_post_page(keys: KeyPair) -> FeedPage:
    post = sign_post(Post(keys.public_key, 0, 1_700_000_000, "read me once"), keys)
    return FeedPage(keys.public_key, 0, 0, PAGE_CAPACITY, None, (post,))


async def test_a_page_not_followed_gets_the_rendezvous_peers_found_while_it_waits(
    swarm: Swarm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lookups every half second instead of every 10-15 s, so the test waits for seconds.
    monkeypatch.setattr("swarmfeed.node.authorpeers.PEER_REFRESH", 0.5)
    monkeypatch.setattr("swarmfeed.node.authorpeers.EMPTY_LOOKUP_TTL", 0.5)
    monkeypatch.setattr("swarmfeed.node.authorpeers.LOOKUP_TIMEOUT", 1.0)
    nodes = [await swarm.start() for _ in range(3)]
    for node in nodes:
        await asyncio.wait_for(node.engine.wait_dht_nodes(1), TIMEOUT)
    holder, reader = nodes[0], nodes[2]
    author = KeyPair.generate()
    page = one_post_page(author)
    folder = tmp_path / "holder"
    folder.mkdir()
    (folder / page.file_name).write_bytes(page.encode())
    created = await asyncio.to_thread(
        create_torrent, folder / page.file_name, v1_only=True, piece_size=PAGE_PIECE_BYTES
    )
    infohash = created.infohash.hex()
    # Not announced under its own infohash: the rendezvous is the only way to the holder.
    await holder.engine.add_torrent(created.torrent, folder, seed_mode=True, dht=False)

    layout = HomeLayout(reader.root / "home")
    book = AuthorPeers(reader.engine, Supervisor(), lambda _author, _limit: [], time.monotonic)
    pages = PageReader(reader.engine, TorrentShelf(layout, reader.engine), layout, book.peers)
    reading = asyncio.create_task(
        pages.read(author.public_key, infohash, page_sha256(page.encode()))
    )
    try:
        # The torrent is added once the first lookup answered: nobody was announced yet.
        await eventually(lambda: reader.engine.has(infohash) or reading.done())
        assert not reading.done()
        assert book.lookups == 1 and book.known(author.public_key.hex()) == []
        holder.engine.announce_rendezvous(peers_key(author.public_key))
        read = await asyncio.wait_for(reading, TIMEOUT)
    finally:
        reading.cancel()
    assert read == page
    assert book.lookups >= 2
    assert holder.endpoint in book.known(author.public_key.hex())
    # Read once, not kept, and the author is not held: this node announces nothing for it.
    assert not reader.engine.has(infohash)
    assert book.held() == []

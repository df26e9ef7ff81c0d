"""Serving media the swarm gets wrong: a piece that fails its hash, a MIME type that no header
can carry. The answer is a prompt, clear HTTP error, never a 500 or a hang.

In-process nodes with real libtorrent sessions on 127.0.0.155-157 (private DHT); the HTTP app
is driven in-process through httpx's ASGI transport.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nodekit import make_node

from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig, PieceFailed
from swarmfeed.localswarm import free_port
from swarmfeed.node.node import Node
from swarmfeed.node.publisher import Upload
from swarmfeed.server.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TIMEOUT = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client_for(node: Node) -> httpx.AsyncClient:
    """Return an HTTP client talking to ``node``'s app in-process."""
    transport = httpx.ASGITransport(app=create_app(node))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=TIMEOUT)


@pytest.fixture
async def viewer(tmp_path: Path) -> AsyncIterator[Node]:
    node = make_node(tmp_path, "viewer", "127.0.0.155", [])
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


async def test_a_range_over_a_piece_that_fails_its_hash_is_a_prompt_502(
    viewer: Node, tmp_path: Path
) -> None:
    # A seeder that checked its file, then had it overwritten: it serves bytes that do not
    # match the torrent's hashes (what a hostile or broken peer does).
    endpoint = ("127.0.0.156", free_port("127.0.0.156"))
    seeder = Engine(
        EngineConfig(
            listen_interface=f"{endpoint[0]}:{endpoint[1]}", public_dht=False, local_only=True
        ),
        tmp_path / "seeder-engine",
    )
    await seeder.start()
    try:
        folder = tmp_path / "seeded" / "post-0"
        folder.mkdir(parents=True)
        clip = folder / "clip.bin"
        clip.write_bytes(os.urandom(256 * 1024))
        created = await asyncio.to_thread(create_torrent, folder)
        ih = created.infohash.hex()
        await seeder.add_torrent(created.torrent, folder.parent)
        await seeder.wait_finished(ih, TIMEOUT)  # checked: every piece is "had"
        with clip.open("r+b") as handle:  # same size, other bytes, in place
            handle.write(os.urandom(256 * 1024))

        failed: asyncio.Queue[int] = asyncio.Queue()
        viewer.engine.subscribe(
            lambda event: (
                failed.put_nowait(event.piece)
                if isinstance(event, PieceFailed) and event.infohash == ih
                else None
            )
        )
        await viewer.engine.add_magnet(
            created.infohash,
            created.infohash_v2,
            viewer.layout.save_path(ih),
            peers=[endpoint],
        )
        piece = await asyncio.wait_for(failed.get(), TIMEOUT)
        start = piece * created.piece_length
        async with client_for(viewer) as client:
            # Safety net only: before the fix this answered 206 and then waited 120 s.
            response = await asyncio.wait_for(
                client.get(
                    f"/api/media/{ih}/clip.bin", headers={"Range": f"bytes={start}-{start + 99}"}
                ),
                TIMEOUT,
            )
        assert response.status_code == 502, response.text
        assert "failed its hash check" in response.json()["detail"]
    finally:
        await seeder.stop()


async def test_a_mime_type_no_header_can_carry_is_served_as_octet_stream(
    viewer: Node, tmp_path: Path
) -> None:
    # Any client of the protocol can sign a MIME type with non-Latin-1 text (protocol.md §4
    # allows UTF-8); neither the author nor a follower may answer its media with a 500.
    author = make_node(tmp_path, "author", "127.0.0.157", [viewer.settings.listen])
    await author.start()
    try:
        staged = author.shelf.new_staging_dir() / "clip.mp4"
        clip = os.urandom(40_000)
        staged.write_bytes(clip)
        signed = await author.create_post("a clip", [Upload(staged, "clip.mp4", "vidéo/mp4 ☃")])
        assert signed.post.media is not None
        url = f"/api/media/{signed.post.media.infohash.hex()}/clip.mp4"
        await author.publisher.wait_published()

        viewer.follower.follow(author.author)
        await viewer.follower.sync(author.author)
        for node in (author, viewer):
            async with client_for(node) as client:
                response = await client.get(url)
                page = await client.get(f"/posts/{signed.id}", headers={"Accept": "text/html"})
            assert response.status_code == 200, (node.settings.home.name, response.text)
            assert response.headers["content-type"] == "application/octet-stream"
            assert response.content == clip
            assert page.status_code == 200
    finally:
        await author.stop()

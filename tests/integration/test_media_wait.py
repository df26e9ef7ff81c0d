"""Opening a post's media before its torrent's metadata arrived waits instead of failing.

In-process nodes with real libtorrent sessions on 127.0.0.43-44 (private DHT).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from nodekit import make_node

from swarmfeed.engine.creator import create_torrent
from swarmfeed.errors import NotFound

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TIMEOUT = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_media_of_a_torrent_still_fetching_metadata_is_waited_for(tmp_path: Path) -> None:
    seeder = make_node(tmp_path, "seeder", "127.0.0.43", [])
    viewer = make_node(tmp_path, "viewer", "127.0.0.44", [seeder.settings.listen])
    await seeder.start()
    await viewer.start()
    try:
        folder = tmp_path / "authored" / "post-0"
        folder.mkdir(parents=True)
        clip = os.urandom(300_000)
        (folder / "clip.bin").write_bytes(clip)
        created = await asyncio.to_thread(create_torrent, folder)
        ih = created.infohash.hex()

        # The viewer knows the torrent (a post arrived) but nobody seeds it yet.
        save_path = viewer.layout.save_path(ih)
        await viewer.engine.add_magnet(created.infohash, created.infohash_v2, save_path)
        opening = asyncio.create_task(viewer.media_file(ih, "clip.bin", timeout=TIMEOUT))
        await asyncio.sleep(0)  # let the request start: it must wait, not answer "no such file"
        assert not opening.done()

        await seeder.engine.add_torrent(created.torrent, folder.parent, seed_mode=True)
        await viewer.engine.add_magnet(
            created.infohash,
            created.infohash_v2,
            save_path,
            peers=[seeder.settings.listen_endpoint],
        )
        entry = await asyncio.wait_for(opening, TIMEOUT)
        assert (entry.path, entry.size) == ("clip.bin", len(clip))
        assert entry.absolute_path.is_relative_to(save_path)

        # A torrent this node does not know is refused at once.
        with pytest.raises(NotFound, match="no media torrent"):
            await viewer.media_file("ab" * 20, "clip.bin", timeout=TIMEOUT)
    finally:
        await viewer.stop()
        await seeder.stop()

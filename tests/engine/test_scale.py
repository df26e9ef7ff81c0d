"""The engine's primitives for scale, against real libtorrent sessions on 127.0.0.183-189.

Connections that serve nobody are closed (also after a magnet's metadata hold), peers are met
through a rendezvous key instead of per-torrent DHT traffic, torrents come back from resume
data in the background without re-hashing, and statuses come from libtorrent's state updates.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import libtorrent as lt
import pytest
from enginekit import TIMEOUT, Node, Swarm, eventually, random_bytes, write_tree

from swarmfeed.core.media import check_media_metadata
from swarmfeed.core.posts import MediaFile, MediaRef
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.types import CreatedTorrent, MetadataReceived, TorrentStatus

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

HOSTS = [f"127.0.0.{i}" for i in range(183, 190)]
SIZE = 512 * 1024 + 77

# libtorrent waits min_reconnect_time (60 s) before it connects a peer it dropped again; a
# metadata hold that relied on that would take a minute. This bound is a safety net above
# the ~1 s reconnect round and far below that minute.
RECONNECTED = 30.0


@pytest.fixture
async def swarm(tmp_path: Path) -> AsyncIterator[Swarm]:
    """Engines on this module's own loopback addresses."""
    swarm = Swarm(tmp_path, hosts=HOSTS)
    try:
        yield swarm
    finally:
        await swarm.close()


async def seed(node: Node, folder: Path, **options: bool) -> CreatedTorrent:
    created = await asyncio.to_thread(create_torrent, folder)
    await node.engine.add_torrent(created.torrent, folder.parent, seed_mode=True, **options)
    return created


def media_check(created: CreatedTorrent, seen: list[bytes]) -> Callable[[bytes], None]:
    assert created.infohash_v2 is not None
    ref = MediaRef(
        created.infohash,
        created.infohash_v2,
        created.name,
        tuple(MediaFile(path, size, "application/octet-stream") for path, size in created.files),
    )

    def check(info: bytes) -> None:
        seen.append(info)
        check_media_metadata(info, ref)

    return check


async def test_finished_torrents_keep_no_connection_and_a_held_magnet_still_downloads(
    swarm: Swarm, tmp_path: Path
) -> None:
    seeder = await swarm.start()
    downloader = await swarm.start()
    posts = []
    for index in range(3):
        clip = {"clip.bin": random_bytes(SIZE)}
        folder = write_tree(tmp_path / "authored" / f"post-{index}", clip)
        posts.append(await seed(seeder, folder))
    for created in posts:
        seen: list[bytes] = []
        ih = created.infohash.hex()
        # Held for its check: the seed drops the magnet as "upload to upload" when its
        # metadata arrives; the release must bring the seed back at once.
        await downloader.engine.add_magnet(
            created.infohash,
            created.infohash_v2,
            downloader.downloads,
            check_metadata=media_check(created, seen),
            peers=[seeder.endpoint],
        )
        await asyncio.wait_for(downloader.engine.wait_finished(ih), RECONNECTED)
        assert seen == [created.info_section]
        assert downloader.events.of(MetadataReceived, ih) == [MetadataReceived(ih)]
        assert downloader.engine.status(ih).is_seeding

    for node in (seeder, downloader):
        assert node.engine._session.get_settings()["close_redundant_connections"] is True

    # Both ends hold every torrent now: nobody wants anything, so no connection stays.
    def idle() -> bool:
        return all(
            node.engine.status(c.infohash.hex()).num_peers == 0
            for node in (seeder, downloader)
            for c in posts
        )

    await eventually(idle)


async def announced(node: Node, key: bytes, finder: Node) -> list[tuple[str, int]]:
    """Announce ``node`` under ``key`` until ``finder``'s lookup returns it."""

    async def search() -> list[tuple[str, int]]:
        while True:
            node.engine.announce_rendezvous(key)
            found = await finder.engine.find_rendezvous(key, timeout=2.0)
            if node.endpoint in found:
                return found

    return await asyncio.wait_for(search(), TIMEOUT)


async def test_a_rendezvous_lookup_finds_the_announcer(swarm: Swarm) -> None:
    nodes = [await swarm.start() for _ in range(4)]
    for node in nodes:
        await asyncio.wait_for(node.engine.wait_dht_nodes(2), TIMEOUT)
    announcer, finder = nodes[0], nodes[3]
    key = hashlib.sha1(b"swarmfeed rendezvous of an author").digest()
    found = await announced(announcer, key, finder)
    assert found == [announcer.endpoint]
    # A key nobody announced finds nobody (and the lookup ends with its time).
    assert await finder.engine.find_rendezvous(os.urandom(20), timeout=1.0) == []
    before = finder.engine.session_status()
    assert before.dht_lookups_out > 0 and before.dht_packets_out > 0


async def test_a_torrent_without_dht_downloads_from_peers_met_at_a_rendezvous(
    swarm: Swarm, tmp_path: Path
) -> None:
    nodes = [await swarm.start() for _ in range(3)]
    for node in nodes:
        await asyncio.wait_for(node.engine.wait_dht_nodes(1), TIMEOUT)
    seeder, downloader = nodes[0], nodes[2]
    folder = write_tree(tmp_path / "authored" / "post-0", {"clip.bin": random_bytes(SIZE)})
    created = await seed(seeder, folder, dht=False)
    ih = created.infohash.hex()
    assert not seeder.engine.status(ih).dht
    await downloader.engine.add_magnet(
        created.infohash, created.infohash_v2, downloader.downloads, dht=False
    )
    assert not downloader.engine.status(ih).dht
    # Nobody announced the torrent itself: its peers come from the author's rendezvous.
    key = hashlib.sha1(b"an author's rendezvous").digest()
    peers = await announced(seeder, key, downloader)
    downloader.engine.connect_peers(ih, peers)
    await asyncio.wait_for(downloader.engine.wait_finished(ih), TIMEOUT)
    assert (downloader.downloads / "post-0" / "clip.bin").read_bytes() == (
        folder / "clip.bin"
    ).read_bytes()
    # The DHT can be switched on again later (and off).
    downloader.engine.set_dht(ih, True)
    assert downloader.engine.status(ih).dht
    downloader.engine.set_dht(ih, False)
    assert not downloader.engine.status(ih).dht


def write_resume_files(
    folder: Path, data_root: Path, count: int, fresh_every: int = 10
) -> list[str]:
    """Write ``count`` small complete torrents and their resume data as a session would.

    Then overwrite every file with other bytes of the same size: a torrent that comes back
    seeding was trusted from its resume data, not hashed again. Every one was added just now;
    only every ``fresh_every``-th is in the DHT (a fresh post), the others were fetched from a
    back catalogue (out of the DHT).
    """
    folder.mkdir(parents=True, exist_ok=True)
    keys = []
    for index in range(count):
        post = write_tree(data_root / f"post-{index}", {"a.bin": os.urandom(1000 + index)})
        created = create_torrent(post)
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(created.torrent)
        params.save_path = str(data_root)
        params.have_pieces = [True] * params.ti.num_pieces()
        params.added_time = int(time.time())
        if index % fresh_every:
            params.flags |= lt.torrent_flags.disable_dht
        key = created.infohash.hex()
        (folder / f"{key}.resume").write_bytes(bytes(lt.write_resume_data_buf(params)))
        (post / "a.bin").write_bytes(b"\0" * (1000 + index))
        keys.append(key)
    return keys


async def test_many_torrents_restore_in_the_background_without_rehash(
    swarm: Swarm, tmp_path: Path
) -> None:
    root = tmp_path / "restored"
    count = 300
    keys = await asyncio.to_thread(
        write_resume_files, root / "engine" / "resume", tmp_path / "data", count
    )
    node = await swarm.start(root=root, bootstrap=(), restore_batch=25)
    # start() has returned: the restore runs in the background, and the loop serves others.
    status = node.engine.session_status()
    assert status.restoring and status.to_restore == count
    progress: list[int] = []

    async def serve() -> None:
        while True:
            progress.append(node.engine.session_status().restored)
            await asyncio.sleep(0)  # as often as the loop runs anything else

    server = asyncio.create_task(serve())
    await asyncio.wait_for(node.engine.wait_restored(), TIMEOUT)
    server.cancel()
    done = node.engine.session_status()
    assert not done.restoring and done.restored == count and done.num_torrents == count
    # The loop served in between: progress was seen at many points of the restore.
    assert len({p for p in progress if 0 < p < count}) >= count // 25 - 2
    for key in keys:
        assert node.engine.has(key)
        await asyncio.wait_for(node.engine.wait_finished(key), TIMEOUT)
        status_of = node.engine.status(key)
        assert status_of.is_seeding and status_of.total_download == 0, status_of
    # The seeding count comes from the status cache, not from a pass over every torrent.
    await node.engine.statuses.current(TIMEOUT)
    assert node.engine.session_status().seeding == count
    # Only what was fresh before the restart is fresh after it (the per-second policy's set).
    fresh = {t.key for t in node.engine.state.table.fresh()}
    assert fresh == set(keys[::10])


async def test_statuses_come_from_state_updates(swarm: Swarm, tmp_path: Path) -> None:
    seeder = await swarm.start()
    downloader = await swarm.start()
    idle = []
    for index in range(20):
        folder = write_tree(tmp_path / "idle" / f"post-{index}", {"a.bin": random_bytes(2000)})
        idle.append(await seed(seeder, folder, fresh=False))
    folder = write_tree(tmp_path / "authored" / "post-x", {"clip.bin": random_bytes(SIZE)})
    created = await seed(seeder, folder)
    ih = created.infohash.hex()
    asked: list[str] = []
    refresh = downloader.engine.statuses.refresh

    def counted(torrent: object) -> TorrentStatus:
        asked.append(getattr(torrent, "key", "?"))
        return refresh(torrent)  # type: ignore[arg-type]

    await downloader.engine.add_magnet(
        created.infohash, created.infohash_v2, downloader.downloads, peers=[seeder.endpoint]
    )
    downloader.engine.statuses.refresh = counted  # type: ignore[method-assign]
    await asyncio.wait_for(downloader.engine.wait_finished(ih), TIMEOUT)
    await asyncio.wait_for(downloader.engine.statuses.current(), TIMEOUT)
    [listed] = downloader.engine.list_status()
    assert listed.is_seeding and listed.total_done == SIZE and listed.progress == 1.0
    # The seeder's idle torrents are listed from the cache, every one of them current.
    await asyncio.wait_for(seeder.engine.statuses.current(), TIMEOUT)
    seeded = {s.infohash: s for s in seeder.engine.list_status()}
    assert len(seeded) == len(idle) + 1
    assert all(seeded[c.infohash.hex()].is_seeding for c in idle)
    # Idle torrents are no part of the per-second work: the policy looks at fresh ones only.
    assert {t.key for t in seeder.engine.state.table.fresh()} == {ih}
    # The downloader asked libtorrent directly only on its own events (finish), not per tick.
    assert set(asked) <= {ih}

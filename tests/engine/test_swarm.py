"""The engine against real libtorrent peers on loopback: seed, magnet download, refusal,
resume after restart and streaming ranges.

Each engine listens on its own address in 127.0.0.60-79 with a private DHT (``local_only``,
``public_dht=False``). Waits are on the engine's futures and events; ``asyncio.wait_for`` is
only a safety net.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from enginekit import TIMEOUT, Node, Swarm, eventually, random_bytes, write_tree

from swarmfeed.core import bencoding
from swarmfeed.core.media import check_media_metadata
from swarmfeed.core.posts import MediaFile, MediaRef
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import TorrentRefused
from swarmfeed.engine.types import (
    CreatedTorrent,
    MetadataReceived,
    MetadataRefused,
    TorrentFinished,
    TorrentRemoved,
)
from swarmfeed.errors import UnsafePath

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

CLIP = 2 * 1024 * 1024 + 4321


async def seed_folder(node: Node, folder: Path) -> CreatedTorrent:
    """Hash ``folder`` in a worker thread and seed it from where it lies (seed mode).

    Not marked ``authored``: the adaptive policy would super-seed it (BEP 16), and a lone
    downloader of a super-seeded torrent waits about 10 s for its first piece (measured with
    libtorrent 2.1.1), which these tests are not about.
    """
    created = await asyncio.to_thread(create_torrent, folder)
    await node.engine.add_torrent(created.torrent, folder.parent, seed_mode=True)
    return created


def media_ref(created: CreatedTorrent) -> MediaRef:
    assert created.infohash_v2 is not None
    return MediaRef(
        created.infohash,
        created.infohash_v2,
        created.name,
        tuple(MediaFile(path, size, "application/octet-stream") for path, size in created.files),
    )


async def test_local_only_sessions_stay_off_the_network(swarm: Swarm) -> None:
    node = await swarm.start()
    settings = node.engine._session.get_settings()
    assert settings["listen_interfaces"] == f"{node.host}:{node.port}"
    assert settings["outgoing_interfaces"] == node.host
    assert settings["dht_bootstrap_nodes"] == ""
    for off in ("enable_lsd", "enable_upnp", "enable_natpmp", "enable_outgoing_utp"):
        assert settings[off] is False, off
    assert node.engine.session_status().listen_port == node.port


async def test_magnet_download_over_the_private_dht(swarm: Swarm, tmp_path: Path) -> None:
    seeder = await swarm.start()
    helper = await swarm.start()  # a third DHT node, so announces have somewhere to go
    downloader = await swarm.start()
    folder = write_tree(
        tmp_path / "authored" / "post-0",
        {"clip.bin": random_bytes(CLIP), "text/note.txt": b"a note\n"},
    )
    created = await seed_folder(seeder, folder)
    ih = created.infohash.hex()
    assert created.infohash_v2 is not None
    await asyncio.wait_for(seeder.engine.wait_finished(ih), TIMEOUT)  # seeding at once
    assert seeder.engine.status(ih).is_seeding

    checked: list[bytes] = []

    def check(info: bytes) -> None:
        checked.append(info)
        check_media_metadata(info, media_ref(created))

    # Both hashes (btih + btmh), no peer hint: the seeder is found through the DHT only.
    key = await downloader.engine.add_magnet(
        created.infohash, created.infohash_v2, downloader.downloads, check_metadata=check
    )
    assert key == ih
    await asyncio.wait_for(downloader.engine.wait_metadata(ih), TIMEOUT)
    assert checked == [created.info_section]  # the check saw the exact info dict, once
    assert downloader.engine.info_section(ih) == created.info_section
    await asyncio.wait_for(downloader.engine.wait_finished(ih), TIMEOUT)

    await downloader.events.wait_for(TorrentFinished, ih)
    assert downloader.events.of(MetadataReceived, ih) == [MetadataReceived(ih)]
    files = {entry.path: entry for entry in downloader.engine.files(ih)}
    assert sorted(files) == ["clip.bin", "text/note.txt"]
    for relative, entry in files.items():
        assert entry.absolute_path.read_bytes() == (folder / relative).read_bytes(), relative
        assert entry.absolute_path.is_relative_to(downloader.downloads)
    status = downloader.engine.status(ih)
    assert status.is_seeding and status.progress == 1.0
    assert status.total_download >= CLIP
    assert helper.engine.list_status() == []


async def test_metadata_with_an_escaping_path_is_refused(swarm: Swarm, tmp_path: Path) -> None:
    seeder = await swarm.start()
    downloader = await swarm.start()
    content = b"#!/bin/sh\necho pwned\n"
    info = {
        "name": "post-0",
        "piece length": 16384,
        "pieces": hashlib.sha1(content).digest(),
        "files": [{"length": len(content), "path": ["..", "..", "evil.sh"]}],
    }
    raw = bencoding.encode(info)
    infohash = hashlib.sha1(raw).digest()
    ih = infohash.hex()
    # The seeder really has the content (libtorrent stores the path sanitized), so only the
    # refusal can keep it off the downloader's disk.
    seed_root = write_tree(tmp_path / "seed", {"post-0/_/_/evil.sh": content})
    await seeder.engine.add_torrent(bencoding.encode({"info": info}), seed_root)
    await asyncio.wait_for(seeder.engine.wait_finished(ih), TIMEOUT)
    assert seeder.engine.status(ih).is_seeding

    # What a post would sign for it: the real hashes of this hostile info dict.
    ref = MediaRef(
        infohash,
        hashlib.sha256(raw).digest(),
        "post-0",
        (MediaFile("evil.sh", len(content), "text/x-sh"),),
    )
    await downloader.engine.add_magnet(
        infohash,
        None,
        downloader.downloads,
        check_metadata=lambda section: check_media_metadata(section, ref),
        peers=[seeder.endpoint],
    )
    with pytest.raises(TorrentRefused, match="refused"):
        await asyncio.wait_for(downloader.engine.wait_metadata(ih), TIMEOUT)
    refused = await downloader.events.wait_for(MetadataRefused, ih)
    assert "'..'" in refused.reason
    await downloader.events.wait_for(TorrentRemoved, ih)
    assert not downloader.engine.has(ih)
    assert downloader.events.of(MetadataReceived) == []
    assert downloader.events.of(TorrentFinished) == []
    # Nothing was written: not in the download folder, not above it.
    assert [p for p in downloader.downloads.rglob("*") if p.is_file()] == []
    assert [p for p in tmp_path.rglob("evil.sh") if not p.is_relative_to(seed_root)] == []
    assert list(downloader.engine.resume_dir.iterdir()) == []
    with pytest.raises(UnsafePath):
        check_media_metadata(raw, ref)

    # Control: the seeder does serve the content. Without a check the same magnet downloads
    # (libtorrent stores the path sanitized, inside the download folder).
    await downloader.engine.add_magnet(
        infohash, None, downloader.downloads, peers=[seeder.endpoint]
    )
    await asyncio.wait_for(downloader.engine.wait_finished(ih), TIMEOUT)
    [entry] = downloader.engine.files(ih)
    assert entry.absolute_path.read_bytes() == content
    assert entry.absolute_path.is_relative_to(downloader.downloads)


async def test_resume_restores_a_completed_download_as_seed(swarm: Swarm, tmp_path: Path) -> None:
    seeder = await swarm.start()
    downloader = await swarm.start()
    folder = write_tree(tmp_path / "authored" / "post-1", {"clip.bin": random_bytes(CLIP)})
    created = await seed_folder(seeder, folder)
    ih = created.infohash.hex()
    await downloader.engine.add_magnet(
        created.infohash, created.infohash_v2, downloader.downloads, peers=[seeder.endpoint]
    )
    await asyncio.wait_for(downloader.engine.wait_finished(ih), TIMEOUT)
    await downloader.events.wait_for(TorrentFinished, ih)
    downloaded = downloader.engine.files(ih)[0].absolute_path

    # Stop both: the restarted engine has nobody to download from.
    await swarm.stop(downloader)
    await swarm.stop(seeder)
    # Taken after the stop: libtorrent reports a torrent finished before its disk cache is
    # written out, so the file may still change until the session is closed.
    stamp = downloaded.stat().st_mtime_ns
    assert (downloader.engine.resume_dir / f"{ih}.resume").is_file()

    again = await swarm.start(root=downloader.root, bootstrap=())
    assert again.engine.has(ih)
    await asyncio.wait_for(again.engine.wait_finished(ih), TIMEOUT)
    status = again.engine.status(ih)
    assert status.has_metadata and status.is_seeding and status.progress == 1.0
    assert status.total_download == 0  # nothing was fetched again in this session
    assert status.save_path == str(downloader.downloads)
    assert again.engine.info_section(ih) == created.info_section
    assert downloaded.read_bytes() == (folder / "clip.bin").read_bytes()
    assert downloaded.stat().st_mtime_ns == stamp


async def test_wait_range_returns_once_its_pieces_arrive(swarm: Swarm, tmp_path: Path) -> None:
    # The seeder uploads slowly (and the limit applies to loopback peers), so the whole file
    # takes many seconds while a small range at its end arrives first.
    rate = 256 * 1024
    seeder = await swarm.start(upload_rate_limit=rate, rate_limit_local_peers=True)
    downloader = await swarm.start()
    size = 4 * 1024 * 1024
    data = random_bytes(size)
    folder = write_tree(tmp_path / "authored" / "post-2", {"movie.bin": data})
    created = await seed_folder(seeder, folder)
    ih = created.infohash.hex()
    await downloader.engine.add_magnet(
        created.infohash, created.infohash_v2, downloader.downloads, peers=[seeder.endpoint]
    )
    await asyncio.wait_for(downloader.engine.wait_metadata(ih), TIMEOUT)
    entry = downloader.engine.files(ih)[0]

    ranges = [(size - 100_000, size - 1_000), (size // 2, size // 2 + 70_000)]
    for start, end in ranges:
        await asyncio.wait_for(
            downloader.engine.wait_range(ih, entry.index, start, end, timeout=TIMEOUT), TIMEOUT
        )
        status = downloader.engine.status(ih)
        assert not status.is_seeding and status.total_done < size // 2, status
        with entry.absolute_path.open("rb") as handle:
            handle.seek(start)
            assert handle.read(end - start) == data[start:end], (start, end)
    # A range already on disk returns at once; an empty range too.
    start, end = ranges[0]
    await asyncio.wait_for(downloader.engine.wait_range(ih, entry.index, start, end), 1.0)
    await asyncio.wait_for(downloader.engine.wait_range(ih, entry.index, 10, 10), 1.0)
    assert downloader.events.of(TorrentFinished, ih) == []


async def test_bytes_are_in_the_file_when_wait_range_returns(swarm: Swarm, tmp_path: Path) -> None:
    """Read each range from disk right after wait_range, as the media endpoint does.

    libtorrent reports a piece (piece_finished_alert, have_piece) once it passes its hash
    check, possibly before its last blocks leave the disk cache; without the engine's flush a
    few of these reads saw zeros.
    """
    seeder = await swarm.start()
    downloader = await swarm.start()
    size = 16 * 1024 * 1024
    data = random_bytes(size)
    folder = write_tree(tmp_path / "authored" / "post-3", {"movie.bin": data})
    created = await seed_folder(seeder, folder)
    ih = created.infohash.hex()
    await downloader.engine.add_magnet(
        created.infohash, created.infohash_v2, downloader.downloads, peers=[seeder.endpoint]
    )
    await asyncio.wait_for(downloader.engine.wait_metadata(ih), TIMEOUT)
    entry = downloader.engine.files(ih)[0]
    piece = created.piece_length
    wrong = []
    # From the end backwards: the first ranges are awaited while the download runs.
    for start in range(size - piece, -1, -piece):
        await asyncio.wait_for(
            downloader.engine.wait_range(ih, entry.index, start, start + piece), TIMEOUT
        )
        with entry.absolute_path.open("rb") as handle:
            handle.seek(start)
            if handle.read(piece) != data[start : start + piece]:
                wrong.append(start // piece)
    assert wrong == [], f"pieces read before they were written: {wrong}"


async def test_a_node_started_before_its_bootstrap_nodes_joins_the_dht(
    swarm: Swarm, tmp_path: Path
) -> None:
    # Its one bootstrap node is not listening yet: libtorrent's first ping goes nowhere.
    later = swarm.endpoint()
    early = await swarm.start(bootstrap=(later,))
    seeder = await swarm.start(endpoint=later, bootstrap=())
    await asyncio.wait_for(early.engine.wait_dht_nodes(1), TIMEOUT)

    # The joined routing table finds the seeder of a new torrent (BEP 5), no peer hint given.
    folder = write_tree(tmp_path / "authored" / "post-0", {"clip.bin": random_bytes(CLIP)})
    created = await seed_folder(seeder, folder)
    ih = created.infohash.hex()
    await early.engine.add_magnet(created.infohash, created.infohash_v2, early.downloads)
    await asyncio.wait_for(early.engine.wait_finished(ih), TIMEOUT)
    fetched = early.downloads / "post-0" / "clip.bin"
    assert fetched.read_bytes() == (folder / "clip.bin").read_bytes()


async def test_adaptive_author_tunes_for_its_fresh_post_then_steps_back(
    swarm: Swarm, tmp_path: Path
) -> None:
    limit = 8 * 1024 * 1024
    author = await swarm.start(upload_rate_limit=limit)  # adaptive is the default policy
    follower = await swarm.start()
    folder = write_tree(tmp_path / "authored" / "post-0", {"clip.bin": random_bytes(CLIP)})
    created = await asyncio.to_thread(create_torrent, folder)
    ih = created.infohash.hex()
    await author.engine.add_torrent(created.torrent, folder.parent, seed_mode=True, authored=True)

    # Serving a fresh post: one piece of queued requests per peer, rarest-first picks, quick
    # rechoking (core/policy.py); the author serves at full rate while it holds the only copy.
    settings = author.engine._session.get_settings()
    assert settings["max_allowed_in_request_queue"] == 4
    assert settings["whole_pieces_threshold"] == 0
    assert settings["unchoke_interval"] == 2
    handle = author.engine.state.table.require(ih).handle
    assert handle.upload_limit() in (0, -1)

    await follower.engine.add_magnet(
        created.infohash, created.infohash_v2, follower.downloads, peers=[author.endpoint]
    )
    await asyncio.wait_for(follower.engine.wait_finished(ih), TIMEOUT)
    done = follower.engine.status(ih).completed_at
    assert done is not None and author.engine.status(ih).completed_at is None

    # Every piece is now held by a peer: the author steps back to 1/8 of its upload limit.
    def stepped_back() -> bool:
        author.engine.apply_policy()
        return bool(handle.upload_limit() == limit // 8)

    await eventually(stepped_back)
    # The follower downloads nothing of its own: its session is tuned for the fresh swarm only.
    follower_settings = follower.engine._session.get_settings()
    assert follower_settings["max_allowed_in_request_queue"] == 2000
    assert follower_settings["whole_pieces_threshold"] == 0

"""The engine's keyed-waiter registry, resume-file writer and re-announce choice, without
libtorrent."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from swarmfeed.engine.dht import wants_reannounce
from swarmfeed.engine.resume import ResumeFiles, resume_path
from swarmfeed.engine.table import EngineState, Torrent
from swarmfeed.engine.types import EngineConfig, TorrentStatus
from swarmfeed.engine.waiters import Waiters

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_resolve_wakes_every_waiter_of_a_key_and_only_those() -> None:
    waiters: Waiters[str] = Waiters()
    first = asyncio.create_task(waiters.wait("a"))
    second = asyncio.create_task(waiters.wait("a"))
    other = asyncio.create_task(waiters.wait("b"))
    await asyncio.sleep(0)  # let them register
    assert len(waiters) == 3 and "a" in waiters
    waiters.resolve("a")
    await asyncio.gather(first, second)
    assert not other.done() and waiters.keys() == ["b"]
    waiters.fail("b", LookupError("gone"))
    with pytest.raises(LookupError, match="gone"):
        await other
    assert len(waiters) == 0


async def test_predicates_pick_keys_and_a_timeout_takes_its_future_out() -> None:
    waiters: Waiters[tuple[str, int]] = Waiters()
    tasks = {ticket: asyncio.create_task(waiters.wait(("t", ticket))) for ticket in (1, 2, 3)}
    await asyncio.sleep(0)
    waiters.resolve_where(lambda key: key[1] <= 2)  # flush tickets answered up to 2
    await asyncio.gather(tasks[1], tasks[2])
    assert not tasks[3].done()
    waiters.fail_all(RuntimeError("stopped"))
    with pytest.raises(RuntimeError):
        await tasks[3]
    with pytest.raises(TimeoutError):
        await waiters.wait(("t", 4), timeout=0.01)
    assert len(waiters) == 0
    waiters.resolve(("t", 4))  # nobody waits: nothing happens


async def test_resume_files_are_written_in_order_and_a_delete_wins(tmp_path: Path) -> None:
    state = EngineState(EngineConfig(listen_interface="127.0.0.1:0"), logging.getLogger("t"))
    files = ResumeFiles(tmp_path, state)
    files.start()
    files.put("aa", b"first")
    files.put("aa", b"second")  # replaces the queued one
    files.put("bb", b"kept")
    await asyncio.wait_for(files.drained(), 10)
    assert resume_path(tmp_path, "aa").read_bytes() == b"second"
    files.put("bb", b"late write")
    files.delete("bb")  # queued after the write: the file must end up gone
    await asyncio.wait_for(files.drained(), 10)
    assert not resume_path(tmp_path, "bb").exists()
    files.put("cc", b"at stop")
    await files.stop()
    assert resume_path(tmp_path, "cc").read_bytes() == b"at stop"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aa.resume", "cc.resume"]


def _status(*, metadata: bool = True, seeding: bool = False, peers: int = 0) -> TorrentStatus:
    return TorrentStatus(
        infohash="00" * 20,
        name="post",
        state="seeding" if seeding else "downloading",
        progress=1.0 if seeding else 0.5,
        total_wanted=10,
        total_done=10 if seeding else 5,
        download_rate=0,
        upload_rate=0,
        total_upload=0,
        total_download=0,
        all_time_upload=0,
        num_peers=peers,
        num_seeds=0,
        is_seeding=seeding,
        has_metadata=metadata,
        distributed_copies=0.0,
        error=None,
        save_path="/tmp",
    )


def _torrent(
    status: TorrentStatus | None,
    *,
    authored: bool = False,
    held: bool = False,
    downloaded: bool = True,
) -> Torrent:
    torrent = Torrent("00" * 20, None, 0.0, hybrid=True, authored=authored, held=held)
    torrent.status = status
    torrent.completed_at = 1_700_000_000.0 if downloaded else None
    return torrent


def test_fresh_torrents_are_re_announced_while_looking_for_a_swarm_not_as_complete_copies() -> None:
    assert wants_reannounce(_torrent(None))
    assert wants_reannounce(_torrent(_status(metadata=False)))
    assert wants_reannounce(_torrent(_status(seeding=True), held=True))  # held magnet
    assert wants_reannounce(_torrent(_status()))  # downloading, nobody connected
    assert not wants_reannounce(_torrent(_status(peers=3)))
    # A copy this node downloaded (it announced itself meanwhile): seeds drop each other's
    # connections, so it looks lonely; it is left to libtorrent's schedule.
    assert not wants_reannounce(_torrent(_status(seeding=True)))
    # Content added complete (seeded from files it did not download) is announced.
    assert wants_reannounce(_torrent(_status(seeding=True), downloaded=False))
    # ...unless it came back from resume data (announced in the session before).
    restored = _torrent(_status(seeding=True), downloaded=False)
    restored.restored = True
    assert not wants_reannounce(restored)
    # Our own fresh post is announced until somebody connects.
    assert wants_reannounce(_torrent(_status(seeding=True), authored=True))
    assert not wants_reannounce(_torrent(_status(seeding=True, peers=1), authored=True))
    off = _torrent(None)
    off.dht = False
    assert not wants_reannounce(off)

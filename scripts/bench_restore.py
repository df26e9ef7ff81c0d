#!/usr/bin/env python3
"""Engine restart benchmark: N torrents come back from resume data while the loop keeps serving.

Writes N small complete torrents and their resume data (as the engine saves them), then starts
an engine on them (one loopback address, no DHT peers) and measures, in one process:

- how long ``Engine.start()`` blocks, and how long until every torrent is restored and seeding
  (from resume data: nothing is hashed again);
- the event loop's lag while the restore runs (a 10 ms heartbeat: what an HTTP request waits);
- idle CPU (% of one core) and RSS while holding the N torrents, and how long ``stop()`` takes.

    .venv/bin/python scripts/bench_restore.py [--torrents 10000] [--batch 50] [--out DIR]

JSON (``bench_restore.json``) and a plot of the loop lag over the restore
(``bench_restore_lag.png``) go to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import libtorrent as lt

from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.localswarm import free_port

HOST = "127.0.0.189"
DAY = 86400


def write_torrents(root: Path, count: int) -> None:
    """Write ``count`` one-file torrents (added a day ago) with resume data under ``root``."""
    resume = root / "engine" / "resume"
    data = root / "data"
    resume.mkdir(parents=True)
    for index in range(count):
        post = data / f"post-{index}"
        post.mkdir(parents=True)
        (post / "a.bin").write_bytes(os.urandom(2000))
        created = create_torrent(post)
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(created.torrent)
        params.info_hashes = params.ti.info_hashes()
        params.save_path = str(data)
        params.have_pieces = [True] * params.ti.num_pieces()
        params.added_time = int(time.time()) - DAY
        params.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
        path = resume / f"{created.infohash.hex()}.resume"
        path.write_bytes(bytes(lt.write_resume_data_buf(params)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def measure(root: Path, count: int, batch: int, idle_seconds: float) -> dict[str, Any]:
    config = EngineConfig(
        listen_interface=f"{HOST}:{free_port(HOST)}",
        public_dht=False,
        local_only=True,
        restore_batch=batch,
    )
    engine = Engine(config, root / "engine")
    loop = asyncio.get_running_loop()
    lags: list[tuple[float, float]] = []
    beating = True

    async def heartbeat() -> None:
        while beating:
            before = loop.time()
            await asyncio.sleep(0.01)  # the heartbeat's own period
            lags.append((loop.time() - started, loop.time() - before - 0.01))

    started = loop.time()
    await engine.start()
    start_s = loop.time() - started
    beat = asyncio.create_task(heartbeat())
    await engine.wait_restored()
    restored_s = loop.time() - started
    while True:
        await engine.statuses.current()
        if sum(1 for s in engine.list_status() if s.is_seeding) >= count:
            break
        await asyncio.sleep(0.2)  # seeding is reported by the next state update
    seeding_s = loop.time() - started
    beating = False
    await beat
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic()
    await asyncio.sleep(idle_seconds)  # holding the torrents, doing nothing
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime) / (
        time.monotonic() - wall
    )
    status = engine.session_status()
    stopping = loop.time()
    await engine.stop()
    during = [lag for _, lag in lags]
    return {
        "config": {"torrents": count, "batch": batch, "idle_s": idle_seconds},
        "start_blocks_s": round(start_s, 3),
        "restored_s": round(restored_s, 2),
        "all_seeding_s": round(seeding_s, 2),
        "loop_lag_ms": {
            "p50": round(percentile(during, 0.5) * 1000, 1),
            "p99": round(percentile(during, 0.99) * 1000, 1),
            "max": round(max(during, default=0.0) * 1000, 1),
        },
        "idle_cpu_percent": round(cpu * 100, 1),
        "peak_rss_mib": round(after.ru_maxrss / 1024, 1),
        "stop_s": round(loop.time() - stopping, 2),
        "torrents_held": status.num_torrents,
        "lags": [[round(t, 3), round(lag * 1000, 2)] for t, lag in lags],
    }


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    times = [t for t, _ in report["lags"]]
    ax.plot(times, [lag for _, lag in report["lags"]], lw=0.8)
    ax.axvline(report["restored_s"], color="grey", ls="--", label="all restored")
    ax.set_xlabel("seconds since Engine.start()")
    ax.set_ylabel("event-loop lag (ms)")
    cfg = report["config"]
    ax.set_title(f"restoring {cfg['torrents']} torrents, batches of {cfg['batch']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--torrents", type=int, default=10000, help="torrents held [10000]")
    parser.add_argument("--batch", type=int, default=50, help="restore batch size [50]")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU sampling")
    parser.add_argument("--out", type=Path, default=None, help="report folder")
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the temp folder")
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-restore-", dir=args.workdir) as tmp:
        root = Path(tmp)
        made = time.monotonic()
        write_torrents(root, args.torrents)
        print(f"wrote {args.torrents} torrents in {time.monotonic() - made:.1f} s", file=sys.stderr)
        report = asyncio.run(measure(root, args.torrents, args.batch, args.idle))
    lag = report["loop_lag_ms"]
    print(
        f"{args.torrents} torrents, batches of {args.batch}: start() blocks "
        f"{report['start_blocks_s'] * 1000:.0f} ms, restored in {report['restored_s']} s, all "
        f"seeding at {report['all_seeding_s']} s; loop lag p50 {lag['p50']} ms, p99 {lag['p99']} "
        f"ms, max {lag['max']} ms; idle CPU {report['idle_cpu_percent']} % of a core; peak RSS "
        f"{report['peak_rss_mib']} MiB; stop {report['stop_s']} s",
        file=sys.stderr,
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_restore.json").write_text(json.dumps(report, indent=1))
        plot(report, args.out / "bench_restore_lag.png")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Serving benchmark: does an operator's upload go first where it is scarce? (issue 12)

One operator node seeds two posts of F bytes with an upload cap U (applied to loopback peers):

- **popular**: K other seeds hold it too (its author and followers are online);
- **scarce**: the operator is its only seed (an old post whose author and followers are
  offline, or a fresh one whose other holders are still downloading).

D downloaders want each post at the same moment; every peer uploads at most U too. The same
run is made twice with fresh engines: the baseline (libtorrent's own choking, what a node did
before) and scarce-first (core/serving.py: swarms with enough other seeds are held to a
background share while a scarce one wants the upload). All engines are swarmfeed's own
``Engine`` in one process, on 127.0.2.50-69, with a private DHT.

Reported (JSON and a table): completion times of each post's downloaders, the operator's
upload to each post and its share going to the scarce post, and the ratios scarce-first /
baseline; the lower bound for the scarce post is F / U (the operator sends at least one copy).
A PNG compares the completion times.

    .venv/bin/python scripts/bench_serve.py [--size 16MiB] [--rate 2MiB] [--helpers 2]
        [--downloaders 4] [--out bench-output/] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit import MiB, loadavg, make_media, mib, parse_size, progress

from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import CreatedTorrent, EngineConfig
from swarmfeed.localswarm import free_port

MODES = {"baseline": False, "scarce-first": True}
HOSTS = [f"127.0.2.{i}" for i in range(50, 70)]


@dataclass
class Peer:
    """One engine of the benchmark."""

    engine: Engine
    endpoint: tuple[str, int]
    root: Path


class Bench:
    """Starts engines on the benchmark's addresses and stops them all at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peers: list[Peer] = []
        self._hosts = itertools.cycle(HOSTS)
        self._names = itertools.count()

    async def start(self, upload: int, *, serve: bool = True) -> Peer:
        host = next(self._hosts)
        port = free_port(host)
        root = self.root / f"engine-{next(self._names)}"
        config = EngineConfig(
            listen_interface=f"{host}:{port}",
            public_dht=False,
            local_only=True,
            upload_rate_limit=upload,
            rate_limit_local_peers=True,
            serve_scarce_first=serve,
        )
        engine = Engine(config, root / "engine")
        await engine.start()
        peer = Peer(engine, (host, port), root)
        self.peers.append(peer)
        return peer

    async def seed(self, peer: Peer, created: CreatedTorrent, source: Path) -> str:
        """Give ``peer`` a complete copy of ``created`` (files from ``source``) and seed it."""
        save = peer.root / "content" / created.infohash.hex()
        save.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, save / created.name)
        return await peer.engine.add_torrent(created.torrent, save, seed_mode=True)

    async def stop(self) -> None:
        await asyncio.gather(*(p.engine.stop() for p in self.peers), return_exceptions=True)
        self.peers.clear()


def make_post(folder: Path, name: str, size: int) -> tuple[CreatedTorrent, Path]:
    """Write a post's media (``size`` random bytes) and hash it as a hybrid torrent."""
    source = folder / name
    source.mkdir(parents=True)
    make_media(source / "clip.bin", size)
    return create_torrent(source), source


async def fetch(
    peer: Peer, created: CreatedTorrent, sources: Sequence[Peer], start: float
) -> float:
    """Fetch ``created`` by magnet from ``sources``; return seconds from ``start`` to done."""
    await peer.engine.add_magnet(
        created.infohash,
        created.infohash_v2,
        peer.root / "content" / created.infohash.hex(),
        name=created.name,
        peers=[s.endpoint for s in sources],
    )
    await peer.engine.wait_finished(created.infohash.hex(), timeout=600)
    return time.monotonic() - start


async def run_mode(args: argparse.Namespace, serve: bool, posts: dict[str, Any]) -> dict[str, Any]:
    """Run the scenario once; return completion times and the operator's upload per post."""
    bench = Bench(Path(tempfile.mkdtemp(dir=args.workdir, prefix="serve-")))
    try:
        operator = await bench.start(args.rate, serve=serve)
        popular, popular_src = posts["popular"]
        scarce, scarce_src = posts["scarce"]
        await bench.seed(operator, popular, popular_src)
        await bench.seed(operator, scarce, scarce_src)
        helpers = [await bench.start(args.peer_rate) for _ in range(args.helpers)]
        for helper in helpers:
            await bench.seed(helper, popular, popular_src)
        wanting_popular = [await bench.start(args.peer_rate) for _ in range(args.downloaders)]
        wanting_scarce = [await bench.start(args.peer_rate) for _ in range(args.downloaders)]
        start = time.monotonic()
        popular_times, scarce_times = await asyncio.gather(
            asyncio.gather(
                *(fetch(p, popular, [operator, *helpers], start) for p in wanting_popular)
            ),
            asyncio.gather(*(fetch(p, scarce, [operator], start) for p in wanting_scarce)),
        )
        up_popular = operator.engine.status(popular.infohash.hex()).total_upload
        up_scarce = operator.engine.status(scarce.infohash.hex()).total_upload
        return {
            "popular_completions_s": sorted(round(t, 3) for t in popular_times),
            "scarce_completions_s": sorted(round(t, 3) for t in scarce_times),
            "popular_last_s": round(max(popular_times), 3),
            "scarce_last_s": round(max(scarce_times), 3),
            "scarce_median_s": round(statistics.median(scarce_times), 3),
            "operator_upload_popular_bytes": up_popular,
            "operator_upload_scarce_bytes": up_scarce,
            "scarce_share": round(up_scarce / max(1, up_popular + up_scarce), 4),
        }
    finally:
        await bench.stop()
        shutil.rmtree(bench.root, ignore_errors=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    posts_root = Path(tempfile.mkdtemp(dir=args.workdir, prefix="posts-"))
    try:
        posts = {
            name: make_post(posts_root, f"post-{name}", args.size) for name in ("popular", "scarce")
        }
        results: dict[str, Any] = {}
        for mode, serve in MODES.items():
            progress(args.quiet, f"{mode}: {args.downloaders} downloaders per post")
            results[mode] = await run_mode(args, serve, posts)
    finally:
        shutil.rmtree(posts_root, ignore_errors=True)
    base, tuned = results["baseline"], results["scarce-first"]
    bound = args.size / args.rate
    return {
        "config": {
            "size_bytes": args.size,
            "operator_upload_rate": args.rate,
            "peer_upload_rate": args.peer_rate,
            "helpers": args.helpers,
            "downloaders_per_post": args.downloaders,
            "scarce_bound_s": round(bound, 3),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "loadavg": loadavg(),
        },
        **results,
        "scarce_first_over_baseline": {
            "scarce_last": round(tuned["scarce_last_s"] / base["scarce_last_s"], 3),
            "scarce_median": round(tuned["scarce_median_s"] / base["scarce_median_s"], 3),
            "popular_last": round(tuned["popular_last_s"] / base["popular_last_s"], 3),
            "scarce_share": round(tuned["scarce_share"] / max(1e-9, base["scarce_share"]), 3),
        },
        "scarce_last_over_bound": {
            mode: round(results[mode]["scarce_last_s"] / bound, 3) for mode in MODES
        },
    }


def table(report: dict[str, Any]) -> str:
    config = report["config"]
    lines = [
        f"post {mib(config['size_bytes'])},"
        f" operator upload {mib(config['operator_upload_rate'])}/s,"
        f" {config['helpers']} other seeds of the popular post,"
        f" {config['downloaders_per_post']} downloaders per post;"
        f" scarce bound F/U = {config['scarce_bound_s']:.1f} s",
        f"{'':14} {'scarce last':>12} {'scarce med':>11} {'popular last':>13} {'to scarce':>10}",
    ]
    for mode in MODES:
        r = report[mode]
        lines.append(
            f"{mode:14} {r['scarce_last_s']:>11.1f}s {r['scarce_median_s']:>10.1f}s"
            f" {r['popular_last_s']:>12.1f}s {r['scarce_share'] * 100:>9.0f}%"
        )
    ratio = report["scarce_first_over_baseline"]
    lines.append(
        f"scarce-first / baseline: scarce last {ratio['scarce_last']:.2f},"
        f" scarce median {ratio['scarce_median']:.2f}, popular last {ratio['popular_last']:.2f},"
        f" share to scarce {ratio['scarce_share']:.2f}"
    )
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, post in zip(axes, ("scarce", "popular"), strict=True):
        for offset, mode in enumerate(MODES):
            times = report[mode][f"{post}_completions_s"]
            axis.scatter([offset] * len(times), times, label=mode, alpha=0.8)
        axis.set_xticks(range(len(MODES)), list(MODES))
        axis.set_title(f"{post} post: downloader completion")
        axis.axhline(
            report["config"]["scarce_bound_s"],
            color="grey",
            linestyle=":",
            linewidth=1,
            label="F / U (the operator alone)",
        )
        axis.set_ylim(bottom=0)
    axes[1].legend(loc="lower right")
    axes[0].set_ylabel("seconds after the start")
    fig.suptitle("Operator upload: libtorrent's choking vs scarce-first (core/serving.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=parse_size, default=16 * MiB)
    p.add_argument("--rate", type=parse_size, default=2 * MiB, help="operator upload cap (B/s)")
    p.add_argument("--peer-rate", type=parse_size, default=2 * MiB, help="others' upload cap")
    p.add_argument("--helpers", type=int, default=2, help="other seeds of the popular post")
    p.add_argument("--downloaders", type=int, default=4, help="downloaders per post")
    p.add_argument("--smoke", action="store_true", help="small numbers (the test suite's run)")
    p.add_argument("--out", type=Path, default=Path("bench-output"))
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--json", action="store_true", help="print the JSON report to stdout")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.smoke:
        args.size, args.rate, args.peer_rate = MiB, 512 * 1024, 512 * 1024
        args.helpers, args.downloaders = 1, 2
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_serve.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(report, args.out / "bench_serve.png")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
    progress(args.quiet, f"wrote {args.out / 'bench_serve.json'} and bench_serve.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Scale benchmark: catch-up on a back catalogue, holding many torrents, big timelines.

Real ``swarmfeed node`` processes on loopback with a private DHT; the authors' feeds are made
by ``scalekit`` and seeded by one helper process (``feedhost.py``) for all of them. Parts:

- catchup: one author with P media posts (``--posts``, ``--size``); a new follower follows.
  Reported: seconds until every post and every bundle is complete, bundles/s, peak RSS, DHT
  packets sent; the same for a 50-post author in the same run as the baseline.
- holding: a node follows A authors with M media posts each (``--authors``, ``--per-author``;
  10,000 torrents at the defaults) and holds them. Reported: RSS, idle CPU %, DHT packets per
  hour while idle, start-up time from resume data, /api/timeline and HTML timeline p99, and a
  fresh post of a followed author: time to visible and to media complete, as a ratio against
  the same on an empty node in the same run.
- timeline: a node with T stored posts (``--timeline-posts``); /api/timeline and HTML p99,
  against the same node with 1,000 posts.

    .venv/bin/python scripts/bench_scale.py [--parts catchup,holding,timeline] [--posts 2000]
        [--size 16KiB] [--authors 100] [--per-author 100] [--timeline-posts 100000]
        [--out bench-output/] [--json] [--quiet] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from benchkit import Cleanup, loadavg, percentile, progress

from swarmfeed.core.followfile import ListEntry
from swarmfeed.feedgen import keys_for, signed_posts
from swarmfeed.localswarm import LocalSwarm
from swarmfeed.node.followlist import FollowList
from swarmfeed.store.database import Database

PARTS = ("catchup", "holding", "timeline")
CREATED = 1_700_000_000


# ------------------------------------------------------------------------------------------------
# timeline at many stored posts


def fill_index(home: Path, total: int, authors: int) -> None:
    """Store ``total`` signed posts of ``authors`` followed authors in a node's index."""
    home.mkdir(parents=True, exist_ok=True)
    db = Database(home / "swarmfeed.db")
    follow_list = FollowList(home / "follows.json")
    per_author = max(1, total // authors)
    keys = [keys_for(index, b"timeline") for index in range(authors)]
    for index, author in enumerate(keys):
        count = per_author if index < authors - 1 else total - per_author * (authors - 1)
        posts = signed_posts(author, count, CREATED + index)
        for start in range(0, len(posts), 5000):
            db.posts.add(posts[start : start + 5000], CREATED + 10**6)
        db.follows.add(author.public_key.hex(), CREATED)
    follow_list.replace([ListEntry(k.public_key.hex()) for k in keys])
    db.close()


def request_times(client: httpx.Client, path: str, count: int) -> list[float]:
    """Return the latency in ms of ``count`` sequential GETs of ``path`` (after 10 warm-ups)."""
    for _ in range(10):
        client.get(path).raise_for_status()
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def latency(times: Sequence[float]) -> dict[str, float]:
    """Summarize request times in ms."""
    return {
        "p50_ms": round(percentile(times, 50), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


def timeline_case(
    swarm: LocalSwarm, name: str, total: int, authors: int, requests: int
) -> dict[str, Any]:
    """Measure the timeline of a node holding ``total`` posts."""
    node = swarm.add(name, start=False)
    started = time.monotonic()
    fill_index(node.home, total, authors)
    fill_s = time.monotonic() - started
    swarm.start(node)
    body = node.api("GET", "/api/timeline", params={"before": None})
    cursor = body["next_before"]
    result = {
        "posts": total,
        "fill_s": round(fill_s, 1),
        "api_timeline": latency(request_times(node.client, "/api/timeline", requests)),
        "api_timeline_page_2": latency(
            request_times(node.client, f"/api/timeline?before={cursor}", requests)
        ),
        "html_timeline": latency(request_times(node.client, "/", requests)),
    }
    node.stop()
    return result


def run_timeline(swarm: LocalSwarm, args: argparse.Namespace) -> dict[str, Any]:
    """Timeline p99 at ``--timeline-posts`` stored posts against 1,000 (the baseline)."""
    progress(args.quiet, "timeline: baseline node with 1,000 posts")
    baseline = timeline_case(swarm, "timeline-small", 1000, 10, args.requests)
    progress(args.quiet, f"timeline: node with {args.timeline_posts} posts")
    big = timeline_case(
        swarm, "timeline-big", args.timeline_posts, args.timeline_authors, args.requests
    )
    ratios = {
        key: round(big[key]["p99_ms"] / max(baseline[key]["p99_ms"], 0.01), 2)
        for key in ("api_timeline", "api_timeline_page_2", "html_timeline")
    }
    return {"baseline": baseline, "big": big, "p99_ratio": ratios}


# ------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen parts and return the report."""
    environment: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": loadavg(),
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.workdir))
    cleanup = Cleanup()
    report: dict[str, Any] = {"parameters": _parameters(args), "environment": environment}
    started = time.monotonic()
    try:
        swarm = LocalSwarm(workdir / "nodes", poll_interval=300.0, republish_interval=1800.0)
        cleanup.swarm = swarm
        if "timeline" in args.parts:
            report["timeline"] = run_timeline(swarm, args)
        environment["total_runtime_s"] = round(time.monotonic() - started, 1)
        environment["loadavg_after"] = loadavg()
        if args.keep:
            report["workdir"] = str(workdir)
        return report
    finally:
        cleanup.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(args).items()
        if key not in ("out", "workdir", "json", "quiet", "keep")
    }


def table(report: dict[str, Any]) -> str:
    """Return the report as a readable table."""
    lines = ["swarmfeed scale benchmark", ""]
    timeline = report.get("timeline")
    if timeline:
        lines.append(
            f"timeline: {timeline['big']['posts']} posts vs {timeline['baseline']['posts']}"
        )
        for key in ("api_timeline", "api_timeline_page_2", "html_timeline"):
            big, small = timeline["big"][key], timeline["baseline"][key]
            lines.append(
                f"  {key:22} p99 {big['p99_ms']:8.2f} ms  (baseline {small['p99_ms']:.2f} ms,"
                f" ratio {timeline['p99_ratio'][key]})"
            )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated parts to run")
    p.add_argument("--timeline-posts", type=int, default=100_000, help="stored posts [100000]")
    p.add_argument("--timeline-authors", type=int, default=100, help="their authors [100]")
    p.add_argument("--requests", type=int, default=300, help="timed requests per case [300]")
    p.add_argument("--smoke", action="store_true", help="tiny numbers (the test suite's run)")
    p.add_argument("--out", type=Path, default=Path("bench-output"), help="report folder")
    p.add_argument("--workdir", type=Path, default=None, help="parent of the temporary nodes")
    p.add_argument("--keep", action="store_true", help="keep the node folders (logs)")
    p.add_argument("--json", action="store_true", help="print the JSON report to stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; return the exit code."""
    args = parser().parse_args(argv)
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser().error(f"unknown parts {sorted(unknown)} (known: {', '.join(PARTS)})")
    if args.smoke:
        args.timeline_posts, args.timeline_authors, args.requests = 2000, 5, 20
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("interrupted: all node processes stopped", file=sys.stderr)
        return 130
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_scale.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
        print(f"\nreport: {args.out / 'bench_scale.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

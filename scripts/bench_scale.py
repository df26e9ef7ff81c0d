#!/usr/bin/env python3
"""Scale benchmark: catch-up on a back catalogue, holding many torrents, big timelines.

Real ``swarmfeed node`` processes on loopback with a private DHT; the authors' feeds are made
by ``swarmfeed.feedgen`` and seeded by one helper process (``feedhost.py``) for all of them.
Addresses: 127.0.6.x. Parts:

- catchup: one author with P media posts (``--posts``, ``--size``); a new follower follows.
  Reported: seconds until every post and every bundle is complete, bundles/s, peak RSS, DHT
  packets sent; the same for a 50-post author in the same run as the baseline.
- holding: a node follows A authors with M media posts each (``--authors``, ``--per-author``;
  10,000 torrents at the defaults) and holds them. Reported: RSS, idle CPU %, DHT packets per
  hour while idle, start-up time from resume data, /api/timeline and HTML timeline p99, and a
  fresh post of a followed author: time to visible and to media complete, as a ratio against
  the same on an empty node in the same run. The holding node gets its torrents the way a
  real one does: it follows the authors and catches up (that catch-up of many authors at
  once is reported too); the fresh posts come from a real creator node over the push channel.
- timeline: a node with T stored posts (``--timeline-posts``); /api/timeline and HTML p99,
  against the same node with 1,000 posts.

    .venv/bin/python scripts/bench_scale.py [--parts catchup,holding,timeline] [--posts 2000]
        [--size 16KiB] [--authors 100] [--per-author 100] [--holding-size 4KiB]
        [--idle 60] [--rounds 3] [--timeline-posts 100000]
        [--out bench-output/] [--json] [--quiet] [--smoke]
"""

from __future__ import annotations

import argparse
import concurrent.futures
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
from bench_viral import post_media, watch_follower
from benchkit import (
    Cleanup,
    MemorySampler,
    MiB,
    launch_all,
    loadavg,
    make_media,
    parse_size,
    percentile,
    progress,
)
from scalekit import (
    FeedHost,
    Progress,
    cpu_seconds,
    dht_count,
    follow,
    held,
    rss,
    wait_until,
)

from swarmfeed.core.followfile import ListEntry
from swarmfeed.feedgen import keys_for, signed_posts
from swarmfeed.localswarm import LocalNode, LocalSwarm, SwarmError
from swarmfeed.node.followlist import FollowList
from swarmfeed.store.database import Database

PARTS = ("catchup", "holding", "timeline")
CREATED = 1_700_000_000
SUBNET = "127.0.6"
FEEDHOST_IP = f"{SUBNET}.2"
HELPER_IPS = [f"{SUBNET}.{i}" for i in (3, 4, 5)]


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
# catch-up on a back catalogue


def wait_dht(nodes: Sequence[LocalNode], timeout: float = 60.0) -> None:
    """Wait until every node has a DHT routing table (it bootstrapped from the feed host)."""
    for node in nodes:
        wait_until(
            f"{node.name}'s DHT",
            lambda n=node: n.api("GET", "/api/status")["dht_nodes"] > 0,
            timeout,
        )


def announce_all(host: FeedHost) -> None:
    """Put every head and announce every author; fail unless each can be found."""
    answer = host.call("announce")
    if answer["findable"] < len(host.authors) or answer["heads"] < len(host.authors):
        raise SwarmError(f"the feed host's authors are not all findable: {answer}")


def watch_catchup(
    node: LocalNode, wanted: dict[str, int], timeout: float, interval: float = 1.0
) -> Progress:
    """Sample ``node`` until every author in ``wanted`` has all its posts and bundles."""
    progress = Progress()
    started = time.monotonic()
    total = sum(wanted.values())
    while time.monotonic() - started < timeout:
        now = time.monotonic() - started
        figures = held(node)
        posts = sum(min(figures.get(a, (0, 0))[0], n) for a, n in wanted.items())
        bundles = sum(min(figures.get(a, (0, 0))[1], n) for a, n in wanted.items())
        progress.samples.append((round(now, 2), posts, bundles))
        if posts >= total and progress.posts_done_s is None:
            progress.posts_done_s = round(now, 2)
        if bundles >= total:
            progress.bundles_done_s = round(now, 2)
            return progress
        time.sleep(interval)  # another process's state: there is no event to await
    return progress


def catchup_case(
    node: LocalNode, authors: dict[str, int], sampler: MemorySampler, timeout: float
) -> dict[str, Any]:
    """Follow ``authors`` on ``node`` and time the catch-up; return its figures."""
    before = dht_count(node)
    for author in authors:
        follow(node, author)
    watched = watch_catchup(node, authors, timeout)
    sampler.sample()
    sent = dht_count(node).minus(before)
    total = sum(authors.values())
    last = watched.samples[-1] if watched.samples else (0.0, 0, 0)
    done = watched.bundles_done_s
    return {
        "authors": len(authors),
        "posts": total,
        "posts_stored": last[1],
        "bundles_complete": last[2],
        "all_posts_s": watched.posts_done_s,
        "all_bundles_s": done,
        "bundles_per_s": round(total / done, 1) if done else None,
        "peak_rss_bytes": sampler.peaks.get(node.name),
        "dht_sent": sent.as_dict(),
        "dht_sent_per_bundle": round(sent.total / max(last[2], 1), 2),
        "samples": watched.samples,
    }


def run_catchup(swarm: LocalSwarm, host: FeedHost, args: argparse.Namespace) -> dict[str, Any]:
    """A new follower catches up on P media posts; a 50-post author is the baseline."""
    baseline_posts = args.baseline_posts
    progress(args.quiet, f"catchup: generating {args.posts} + {baseline_posts} media posts")
    big = host.call("generate", first=0, authors=1, posts=args.posts, size=args.size)
    small = host.call("generate", first=1, authors=1, posts=baseline_posts, size=args.size)
    nodes = [swarm.add("catchup-big", start=False), swarm.add("catchup-small", start=False)]
    launch_all(swarm, nodes, timeout=120)
    wait_dht(nodes)
    announce_all(host)
    sampler = MemorySampler(nodes)
    sampler.start()
    try:
        progress(args.quiet, f"catchup: baseline follower, {baseline_posts} posts")
        baseline = catchup_case(
            nodes[1], {small["authors"][0]: baseline_posts}, sampler, args.timeout
        )
        progress(args.quiet, f"catchup: follower of {args.posts} posts")
        result = catchup_case(nodes[0], {big["authors"][0]: args.posts}, sampler, args.timeout)
    finally:
        sampler.stopped.set()
    for node in nodes:
        node.stop()
    rate, base_rate = result["bundles_per_s"], baseline["bundles_per_s"]
    return {
        "generate_s": round(big["seconds"] + small["seconds"], 1),
        "big": result,
        "baseline": baseline,
        "bundles_per_s_ratio": round(rate / base_rate, 2) if rate and base_rate else None,
    }


# ------------------------------------------------------------------------------------------------
# holding many torrents


def restart(swarm: LocalSwarm, node: LocalNode, timeout: float) -> dict[str, Any]:
    """Stop and start ``node``; time until its API answers and until restore finished."""
    node.stop(timeout=120)
    started = time.monotonic()
    swarm.start(node, timeout=timeout)
    api_s = time.monotonic() - started
    to_restore = int(node.api("GET", "/api/status")["to_restore"])
    restored_s = api_s + wait_until(
        "restore", lambda: not node.api("GET", "/api/status")["restoring"], timeout, 0.2
    )
    return {
        "api_answers_s": round(api_s, 2),
        "restore_done_s": round(restored_s, 2),
        "to_restore": to_restore,
    }


def idle_window(node: LocalNode, seconds: float, step: float = 60.0) -> dict[str, Any]:
    """Measure CPU, DHT packets and RSS of ``node`` over ``seconds`` of idleness.

    The window is also reported in slices of ``step`` seconds, so periodic rounds (head polls,
    re-puts, rendezvous announces) show apart from the quiet between them.
    """
    cpu0, dht0 = cpu_seconds(node), dht_count(node)
    started = time.monotonic()
    slices: list[dict[str, Any]] = []
    cpu_at, dht_at, at = cpu0, dht0, started
    while (left := started + seconds - time.monotonic()) > 0:
        time.sleep(min(step, left))  # the window being measured
        now, cpu_now, dht_now = time.monotonic(), cpu_seconds(node), dht_count(node)
        sent = dht_now.minus(dht_at)
        slices.append(
            {
                "from_s": round(at - started, 1),
                "cpu_percent_of_core": round(100 * (cpu_now - cpu_at) / (now - at), 2),
                "dht_packets_per_hour": round(sent.total * 3600 / (now - at)),
            }
        )
        cpu_at, dht_at, at = cpu_now, dht_now, now
    elapsed = time.monotonic() - started
    cpu, sent = cpu_seconds(node) - cpu0, dht_count(node).minus(dht0)
    return {
        "seconds": round(elapsed, 1),
        "cpu_percent_of_core": round(100 * cpu / elapsed, 2),
        "dht_sent": sent.as_dict(),
        "dht_packets_per_hour": round(sent.total * 3600 / elapsed),
        "rss_bytes": rss(node),
        "slices": slices,
    }


def fresh_round(
    creator: LocalNode, nodes: Sequence[LocalNode], media: Path, timeout: float
) -> dict[str, dict[str, float | None]]:
    """Post once with media on ``creator``; time visibility and completion on ``nodes``."""
    author = str(creator.api("GET", "/api/status")["author"])
    warmup = creator.api("POST", "/api/posts", data={"text": "warm-up"})
    for node in nodes:
        wait_until(
            f"{node.name} to see the warm-up",
            lambda n=node: n.client.get(f"/api/posts/{warmup['id']}").status_code == 200,
            timeout,
            0.2,
        )
    created: list[tuple[float, float]] = []
    t_request = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = [
            pool.submit(
                watch_follower,
                node,
                author,
                int(warmup["seq"]) + 1,
                t_request,
                lambda: created[0] if created else None,
                t_request + timeout,
                0.1,
            )
            for node in nodes
        ]
        post_media(creator, "fresh", media)
        created.append((time.monotonic(), time.time()))
        times = [future.result() for future in futures]
    return {t.name: {"visible_s": t.visible, "complete_s": t.done} for t in times}


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def run_holding(swarm: LocalSwarm, host: FeedHost, args: argparse.Namespace) -> dict[str, Any]:
    """A node holding A x M torrents against an empty node, in the same run."""
    count = args.authors * args.per_author
    progress(args.quiet, f"holding: generating {args.authors} authors x {args.per_author} posts")
    generated = host.call(
        "generate", first=100, authors=args.authors, posts=args.per_author, size=args.holding_size
    )
    # The same number of other authors with a tenth of the posts: what idling costs should
    # grow with the authors held, not with their posts.
    sparse_posts = max(1, args.per_author // 10)
    sparse_generated = host.call(
        "generate",
        first=100 + args.authors,
        authors=args.authors,
        posts=sparse_posts,
        size=args.holding_size,
    )
    holding = swarm.add("holding", start=False)
    sparse = swarm.add("sparse", start=False)
    empty = swarm.add("empty", start=False)
    creator = swarm.add("creator", start=False)
    nodes = [holding, sparse, empty, creator]
    launch_all(swarm, nodes, timeout=120)
    wait_dht(nodes)
    announce_all(host)
    creator_key = str(creator.api("GET", "/api/status")["author"])
    for node in (holding, sparse, empty):
        follow(node, creator_key)
    sampler = MemorySampler([holding, sparse])
    sampler.start()
    progress(args.quiet, f"holding: the node catches up on {count} media posts")
    catchup = catchup_case(
        holding, {a: args.per_author for a in generated["authors"]}, sampler, args.timeout
    )
    catchup.pop("samples")
    progress(args.quiet, f"holding: the sparse node catches up on {args.authors} x {sparse_posts}")
    sparse_catchup = catchup_case(
        sparse, {a: sparse_posts for a in sparse_generated["authors"]}, sampler, args.timeout
    )
    sparse_catchup.pop("samples")
    sampler.stopped.set()
    torrents = int(holding.api("GET", "/api/status")["torrents"])
    progress(args.quiet, f"holding: restarting the node with {torrents} torrents")
    startup = restart(swarm, holding, args.timeout)
    restart(swarm, sparse, args.timeout)
    time.sleep(args.settle)  # let start-up work (reconciliation, first announces) pass
    progress(args.quiet, f"holding: {args.idle:.0f} s idle window (three nodes at once)")
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        windows = [pool.submit(idle_window, node, args.idle) for node in (holding, sparse, empty)]
        idle, sparse_idle, empty_idle = (window.result() for window in windows)
    progress(args.quiet, "holding: timeline latency")
    latencies = {
        "api_timeline": latency(request_times(holding.client, "/api/timeline", args.requests)),
        "html_timeline": latency(request_times(holding.client, "/", args.requests)),
    }
    media = swarm.root / "fresh.bin"
    make_media(media, args.size)
    for node in (holding, empty):
        wait_until(
            f"{node.name} live on the creator",
            lambda n=node: any(
                r["live"] for r in n.api("GET", "/api/follows") if r["author"] == creator_key
            ),
            120,
        )
    rounds = []
    for index in range(args.rounds):
        progress(args.quiet, f"holding: fresh post {index + 1} of {args.rounds}")
        rounds.append(fresh_round(creator, [holding, empty], media, args.fresh_timeout))
    fresh: dict[str, Any] = {"rounds": rounds}
    for name in ("holding", "empty"):
        fresh[name] = {
            key: _median([r[name][key] for r in rounds]) for key in ("visible_s", "complete_s")
        }
    fresh["ratio"] = {
        key: round(fresh["holding"][key] / max(fresh["empty"][key], 0.001), 2)
        if fresh["holding"][key] is not None and fresh["empty"][key] is not None
        else None
        for key in ("visible_s", "complete_s")
    }
    return {
        "torrents_generated": generated["torrents"],
        "generate_s": round(generated["seconds"], 1),
        "torrents": torrents,
        "catchup": catchup,
        "startup": startup,
        "idle": idle,
        "sparse": {
            "authors": args.authors,
            "per_author": sparse_posts,
            "torrents": int(sparse.api("GET", "/api/status")["torrents"]),
            "catchup": sparse_catchup,
            "idle": sparse_idle,
        },
        "empty_idle": empty_idle,
        "dht_per_hour_ratio_vs_sparse": round(
            idle["dht_packets_per_hour"] / max(sparse_idle["dht_packets_per_hour"], 1), 2
        ),
        "latency": latencies,
        "fresh": fresh,
    }


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
        host: FeedHost | None = None
        if "catchup" in args.parts or "holding" in args.parts:
            host = FeedHost(FEEDHOST_IP, HELPER_IPS, workdir / "feedhost")
            cleanup.closers.append(host.close)
        bootstrap = [
            arg for boot in (host.bootstrap if host else []) for arg in ("--bootstrap", boot)
        ]
        swarm = LocalSwarm(
            workdir / "nodes",
            poll_interval=300.0,
            republish_interval=1800.0,
            subnet=SUBNET,
            first_ip=10,
            extra_args=bootstrap,
        )
        cleanup.swarm = swarm
        if "catchup" in args.parts:
            assert host is not None
            report["catchup"] = run_catchup(swarm, host, args)
        if "holding" in args.parts:
            assert host is not None
            report["holding"] = run_holding(swarm, host, args)
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
    catchup = report.get("catchup")
    if catchup:
        lines.append("catch-up (one new follower, one author)")
        for key in ("big", "baseline"):
            case = catchup[key]
            lines.append(
                f"  {case['posts']:6d} posts: posts {case['all_posts_s']} s, bundles"
                f" {case['bundles_complete']}/{case['posts']} in {case['all_bundles_s']} s"
                f" ({case['bundles_per_s']}/s), peak RSS {_mib(case['peak_rss_bytes'])},"
                f" DHT sent {case['dht_sent']['total']}"
            )
    holding = report.get("holding")
    if holding:
        idle, start, fresh = holding["idle"], holding["startup"], holding["fresh"]
        lines += [
            f"holding {holding['torrents']} torrents ({report['parameters']['authors']} authors):",
            f"  catch-up: {holding['catchup']['bundles_complete']} bundles in"
            f" {holding['catchup']['all_bundles_s']} s ({holding['catchup']['bundles_per_s']}/s)",
            f"  restart: API after {start['api_answers_s']} s, restore done after"
            f" {start['restore_done_s']} s ({start['to_restore']} torrents)",
            f"  idle: RSS {_mib(idle['rss_bytes'])}, CPU {idle['cpu_percent_of_core']} % of a core,"
            f" DHT {idle['dht_packets_per_hour']} packets/h",
            f"  same authors, a tenth of the posts ({holding['sparse']['torrents']} torrents):"
            f" CPU {holding['sparse']['idle']['cpu_percent_of_core']} %,"
            f" DHT {holding['sparse']['idle']['dht_packets_per_hour']} packets/h"
            f" (holding / sparse: {holding['dht_per_hour_ratio_vs_sparse']});"
            f" empty node: CPU {holding['empty_idle']['cpu_percent_of_core']} %,"
            f" DHT {holding['empty_idle']['dht_packets_per_hour']} packets/h",
        ]
        for key, value in holding["latency"].items():
            lines.append(f"  {key:14} p50 {value['p50_ms']} ms, p99 {value['p99_ms']} ms")
        for key in ("visible_s", "complete_s"):
            lines.append(
                f"  fresh post {key}: holding {fresh['holding'][key]} s, empty"
                f" {fresh['empty'][key]} s, ratio {fresh['ratio'][key]}"
            )
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


def _mib(value: int | None) -> str:
    return "?" if value is None else f"{value / MiB:.0f} MiB"


def plot(report: dict[str, Any], path: Path) -> None:
    """Save the catch-up progress and the fresh-post times as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110)
    catchup = report.get("catchup")
    if catchup:
        for key, color in (("big", "tab:blue"), ("baseline", "tab:gray")):
            case = catchup[key]
            xs = [s[0] for s in case["samples"]]
            left.plot(
                xs,
                [s[2] for s in case["samples"]],
                color=color,
                label=f"{case['posts']} posts: bundles complete",
            )
            left.plot(
                xs,
                [s[1] for s in case["samples"]],
                color=color,
                linestyle=":",
                label=f"{case['posts']} posts: posts stored",
            )
        left.set_xlabel("seconds since follow")
        left.set_ylabel("count")
        left.set_title("catch-up of one author's back catalogue")
        left.grid(True, alpha=0.3)
        left.legend(loc="lower right")
    holding = report.get("holding")
    if holding and not catchup:
        _plot_idle(left, holding)
    if holding:
        fresh = holding["fresh"]
        keys = ("visible_s", "complete_s")
        xs = range(len(keys))
        right.bar(
            [x - 0.2 for x in xs],
            [fresh["empty"][k] or 0 for k in keys],
            0.4,
            label="empty node",
            color="tab:gray",
        )
        right.bar(
            [x + 0.2 for x in xs],
            [fresh["holding"][k] or 0 for k in keys],
            0.4,
            label=f"node holding {holding['torrents']} torrents",
            color="tab:blue",
        )
        right.set_xticks(list(xs), ["visible", "media complete"])
        right.set_ylabel("seconds after the post (median)")
        right.set_title("a fresh post of a followed author")
        right.grid(True, axis="y", alpha=0.3)
        right.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_idle(axes: Any, holding: dict[str, Any]) -> None:
    """Plot DHT packets per hour, minute by minute, of the idle holding, sparse, empty nodes."""
    cases = (
        (holding["idle"], f"holding ({holding['torrents']} torrents)", "tab:blue"),
        (holding["sparse"]["idle"], f"sparse ({holding['sparse']['torrents']})", "tab:orange"),
        (holding["empty_idle"], "empty (1 author)", "tab:gray"),
    )
    for idle, label, color in cases:
        slices = idle.get("slices", [])
        axes.step(
            [s["from_s"] / 60 for s in slices],
            [s["dht_packets_per_hour"] for s in slices],
            where="post",
            color=color,
            label=f"{label}: {idle['dht_packets_per_hour']}/h",
        )
    axes.set_xlabel("minutes into the idle window")
    axes.set_ylabel("DHT packets sent per hour")
    axes.set_title("idle DHT traffic, minute by minute")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper right")


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated parts to run")
    p.add_argument("--posts", type=int, default=2000, help="catch-up: media posts [2000]")
    p.add_argument("--baseline-posts", type=int, default=50, help="its baseline author [50]")
    p.add_argument("--size", type=parse_size, default=16 * 1024, help="their media [16KiB]")
    p.add_argument("--authors", type=int, default=100, help="holding: authors [100]")
    p.add_argument("--per-author", type=int, default=100, help="holding: posts each [100]")
    p.add_argument("--holding-size", type=parse_size, default=4096, help="their media [4KiB]")
    p.add_argument("--idle", type=float, default=60.0, help="idle window [60 s]")
    p.add_argument("--settle", type=float, default=20.0, help="wait after restart [20 s]")
    p.add_argument("--rounds", type=int, default=3, help="fresh posts timed [3]")
    p.add_argument("--fresh-timeout", type=float, default=120.0, help="bound per fresh post")
    p.add_argument("--timeout", type=float, default=1800.0, help="bound per catch-up [1800 s]")
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
        args.posts, args.baseline_posts, args.authors, args.per_author = 20, 10, 3, 4
        args.idle, args.settle, args.rounds, args.timeout = 2.0, 0.5, 1, 300.0
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("interrupted: all node processes stopped", file=sys.stderr)
        return 130
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_scale.json").write_text(json.dumps(report, indent=2) + "\n")
    plotted = "catchup" in report or "holding" in report
    if plotted:
        plot(report, args.out / "bench_scale.png")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
        figure = f", plot: {args.out / 'bench_scale.png'}" if plotted else ""
        print(f"\nreport: {args.out / 'bench_scale.json'}{figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

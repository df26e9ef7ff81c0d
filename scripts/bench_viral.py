#!/usr/bin/env python3
"""Viral-post benchmark: one creator, N followers, the swarm against plain HTTP (issue 4).

Every node is a real ``swarmfeed node`` process on its own loopback address with a private DHT,
capped at U bytes/s of upload with the cap applied to loopback peers (``--rate-limit-local``).
The creator posts F bytes of media through ``POST /api/posts``; the followers, already following,
learn of the post through the push channel (their head polls run every 300 s by default), fetch the
media from the swarm and seed it. The same file
is then compared with the creator serving it over plain HTTP (a threaded server with one shared
token bucket of U_c) to the same N clients.

Reported (JSON and a table): creator upload / F, last completion / fluid-model bound
max(F/U_c, N*F/(U_c + N*U)), post -> visible median and p95, the push messages the creator sent
for the post and each follower's path length on the push tree, peak RSS of a node, and the swarm
vs HTTP ratios; a PNG of the completion-time CDFs.

    .venv/bin/python scripts/bench_viral.py [--followers 30] [--size 32MiB] [--rate 4MiB]
        [--creator-rate 4MiB] [--policy adaptive] [--out bench-output/] [--json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import http.server
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import (
    Cleanup,
    MemorySampler,
    MiB,
    launch_all,
    loadavg,
    make_media,
    mib,
    parse_size,
    percentile,
    progress,
)

from swarmfeed.localswarm import LocalNode, LocalSwarm, SwarmError, free_port

POLICIES = ("adaptive", "plain", "super")
VISIBLE_P95_TARGET = 2.0
"""Seconds from POST to the post on 95 % of the followers' timelines, at any poll interval."""
PUSH_MESSAGES_TARGET = 8
"""Push messages the creator itself may send for one post (the fan-out, not N)."""


def fluid_bound(size: int, followers: int, creator_rate: int, rate: int) -> float:
    """Return the fluid-model lower bound on the last completion (Qiu & Srikant 2004)."""
    return max(size / creator_rate, followers * size / (creator_rate + followers * rate))


# ------------------------------------------------------------------------------------------------
# process management


# ------------------------------------------------------------------------------------------------
# the HTTP baseline


class TokenBucket:
    """A token bucket shared by every connection: ``rate`` bytes/s, ``burst`` bytes deep."""

    def __init__(self, rate: int, burst: int) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self, amount: int) -> None:
        """Block until ``amount`` bytes may be sent."""
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= amount:
                    self.tokens -= amount
                    return
                wait = (amount - self.tokens) / self.rate
            time.sleep(wait)  # the bucket refills with time; nothing else to wait on


def make_http_server(
    host: str, path: Path, bucket: TokenBucket, chunk: int = 16 * 1024
) -> tuple[http.server.ThreadingHTTPServer, dict[str, int]]:
    """Return a threaded server of ``path`` at /media capped by ``bucket``, and its counters."""
    served = {"bytes": 0}
    served_lock = threading.Lock()
    size = path.stat().st_size

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path != "/media":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with path.open("rb") as source:
                while block := source.read(chunk):
                    bucket.take(len(block))
                    self.wfile.write(block)
                    with served_lock:
                        served["bytes"] += len(block)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer((host, free_port(host)), Handler)
    server.daemon_threads = True
    return server, served


@dataclass
class HttpResult:
    """What the HTTP baseline measured."""

    completions: list[float]
    creator_upload: int
    failures: int


def run_http_baseline(
    creator_ip: str,
    client_ips: Sequence[str],
    media: Path,
    creator_rate: int,
    cleanup: Cleanup,
    timeout: float,
) -> HttpResult:
    """Serve ``media`` over HTTP from the creator's address to every client at once."""
    bucket = TokenBucket(creator_rate, burst=64 * 1024)
    server, served = make_http_server(creator_ip, media, bucket)
    cleanup.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    size = media.stat().st_size
    start = threading.Barrier(len(client_ips) + 1)
    results: list[float | None] = [None] * len(client_ips)

    def fetch(index: int, source_ip: str) -> None:
        connection = http.client.HTTPConnection(
            str(host), int(port), timeout=timeout, source_address=(source_ip, 0)
        )
        start.wait()
        began = time.monotonic()
        try:
            connection.request("GET", "/media")
            response = connection.getresponse()
            received = 0
            while block := response.read(256 * 1024):
                received += len(block)
            if received == size:
                results[index] = time.monotonic() - began
        except OSError:
            pass
        finally:
            connection.close()

    threads = [
        threading.Thread(target=fetch, args=(i, ip), daemon=True) for i, ip in enumerate(client_ips)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    cleanup.server = None
    server.shutdown()
    server.server_close()
    done = [r for r in results if r is not None]
    return HttpResult(done, served["bytes"], len(results) - len(done))


# ------------------------------------------------------------------------------------------------
# the swarm run


@dataclass
class FollowerTimes:
    """When one follower saw the post and when it had all of its media."""

    name: str
    visible: float | None = None
    done: float | None = None


@dataclass
class SwarmResult:
    """What the swarm run measured."""

    post_seconds: float
    followers: list[FollowerTimes]
    creator_media_upload: int
    creator_session_upload: int
    followers_media_upload: list[int]
    creator_distributed_copies: float | None
    creator_super_seeding: bool | None
    creator_push_messages: int = 0
    path_lengths: list[int | None] = field(default_factory=list)
    live_after_s: float | None = None
    peak_rss: dict[str, int] = field(default_factory=dict)


def watch_follower(
    node: LocalNode,
    author: str,
    seq: int,
    t_request: float,
    t_created: Callable[[], tuple[float, float] | None],
    until: float,
    interval: float,
) -> FollowerTimes:
    """Poll a follower until the post with ``seq`` is visible and its media downloaded.

    Visibility is timed by polling the timeline every ``interval``; completion is the time the
    node itself recorded (``completed_at`` of /api/torrents), so that phase is polled only
    once a second: 30 followers polled four times a second would take CPU from the swarm.
    """
    times = FollowerTimes(node.name)
    infohash: str | None = None
    while time.monotonic() < until:
        now = time.monotonic()
        if infohash is None:
            infohash = _visible_media(node, author, seq)
            if infohash is not None:
                times.visible = now - t_request
        if infohash is not None:
            with contextlib.suppress(SwarmError, OSError, ValueError):
                row = media_torrent(node, infohash) or {}
                created = t_created()
                if row.get("completed_at") is not None and created is not None:
                    times.done = float(row["completed_at"]) - created[1]
                    return times
        # Another process's state: there is no push channel to await.
        time.sleep(interval if infohash is None else max(interval, 1.0))
    return times


def _visible_media(node: LocalNode, author: str, seq: int) -> str | None:
    """Return the media infohash of post ``seq`` of ``author`` once it is on the timeline."""
    try:
        posts = node.api("GET", "/api/timeline", params={"limit": 3})["posts"]
    except (SwarmError, OSError, ValueError):
        return None
    for post in posts:
        if post["author"] == author and post["seq"] == seq and post.get("media"):
            return str(post["media"]["infohash"])
    return None


def post_media(node: LocalNode, text: str, path: Path) -> dict[str, Any]:
    """Publish a post with ``path`` attached through POST /api/posts."""
    with path.open("rb") as handle:
        return dict(
            node.api(
                "POST",
                "/api/posts",
                data={"text": text},
                files=[("files", (path.name, handle, "application/octet-stream"))],
                timeout=600.0,
            )
        )


def media_torrent(node: LocalNode, infohash: str) -> dict[str, Any] | None:
    """Return the node's /api/torrents/{infohash} row, or None while it does not hold it."""
    response = node.client.get(f"/api/torrents/{infohash}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return dict(response.json())


def run_swarm(
    swarm: LocalSwarm,
    creator: LocalNode,
    followers: Sequence[LocalNode],
    media: Path,
    args: argparse.Namespace,
) -> SwarmResult:
    """Post the media and time every follower; return the measurements."""
    address = str(creator.api("GET", "/api/status")["address"])
    author = str(creator.api("GET", "/api/status")["author"])
    # Followers subscribe to holders of the author (push channel) right after following.
    began = time.monotonic()
    for node in followers:
        swarm.wait_for(f"{node.name} to be live", lambda n=node: follow_row(n)["live"], 120)
    live_after = time.monotonic() - began
    # A first text post makes every follower fetch the feed and connect before the measured one.
    warmup = creator.api("POST", "/api/posts", data={"text": "warm-up"})

    def sees_warmup(node: LocalNode) -> bool:
        response = node.client.get(f"/api/posts/{warmup['id']}")
        return response.status_code == 200

    for node in followers:
        swarm.wait_for(f"{node.name} to see the warm-up post", lambda n=node: sees_warmup(n), 120)
    status_before = creator.api("GET", "/api/status")
    session_before = int(status_before["bytes_up"])
    pushes_before = int(status_before["push_own_messages"])

    created_at: list[tuple[float, float]] = []  # (monotonic, wall clock) when POST returned
    t_request = time.monotonic()
    until = t_request + args.timeout
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(followers)) as pool:
        futures = [
            pool.submit(
                watch_follower,
                node,
                author,
                int(warmup["seq"]) + 1,
                t_request,
                lambda: created_at[0] if created_at else None,
                until,
                args.sample_interval,
            )
            for node in followers
        ]
        post = post_media(creator, "viral", media)
        created_at.append((time.monotonic(), time.time()))
        times = [future.result() for future in futures]
    post_seconds = created_at[0][0] - t_request
    infohash = str(post["media"]["infohash"])
    time.sleep(1.5)  # the engine's session counters refresh every second
    row = media_torrent(creator, infohash) or {}
    status_after = creator.api("GET", "/api/status")
    session_up = int(status_after["bytes_up"]) - session_before
    pushes = int(status_after["push_own_messages"]) - pushes_before
    paths = []
    for node in followers:
        with contextlib.suppress(SwarmError, OSError):
            paths.append(follow_row(node).get("path_length"))
    uploads = []
    for node in followers:
        with contextlib.suppress(SwarmError, OSError):
            uploads.append(int((media_torrent(node, infohash) or {}).get("total_upload", 0)))
    del address
    return SwarmResult(
        post_seconds=post_seconds,
        followers=times,
        creator_media_upload=int(row.get("total_upload", 0)),
        creator_session_upload=session_up,
        followers_media_upload=uploads,
        creator_distributed_copies=row.get("distributed_copies"),
        creator_super_seeding=None,
        creator_push_messages=pushes,
        path_lengths=paths,
        live_after_s=live_after,
    )


def follow_row(node: LocalNode) -> dict[str, Any]:
    """Return the follower's only /api/follows row."""
    return dict(node.api("GET", "/api/follows")[0])


def follow_all(creator: LocalNode, followers: Sequence[LocalNode]) -> None:
    """Make every follower follow the creator (POST /api/follows)."""
    address = str(creator.api("GET", "/api/status")["address"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: n.api("POST", "/api/follows", json={"author": address}), followers))


# ------------------------------------------------------------------------------------------------
# report


def summarize(
    args: argparse.Namespace,
    swarm_result: SwarmResult,
    http_result: HttpResult | None,
    environment: dict[str, Any],
) -> dict[str, Any]:
    """Return the JSON report."""
    size, n = args.size, args.followers
    bound = fluid_bound(size, n, args.creator_rate, args.rate)
    done = [t.done for t in swarm_result.followers if t.done is not None]
    visible = [t.visible for t in swarm_result.followers if t.visible is not None]
    finished = len(done) == n
    last = max(done) if finished else math.inf
    paths = swarm_result.path_lengths
    known_paths = [p for p in paths if p is not None]
    swarm = {
        "completed": len(done),
        "creator_upload_bytes": swarm_result.creator_media_upload,
        "creator_session_upload_bytes": swarm_result.creator_session_upload,
        "creator_upload_copies": swarm_result.creator_media_upload / size,
        "last_completion_s": last,
        "median_completion_s": statistics.median(done) if done else math.inf,
        "last_completion_over_bound": last / bound,
        "visible_median_s": statistics.median(visible) if visible else math.inf,
        "visible_p95_s": percentile(visible, 95) if len(visible) == n else math.inf,
        "post_request_s": swarm_result.post_seconds,
        "creator_push_messages": swarm_result.creator_push_messages,
        "live_followers": len(known_paths),
        "live_after_s": swarm_result.live_after_s,
        "path_length_max": max(known_paths, default=None),
        "path_length_histogram": {
            str(length): paths.count(length) for length in sorted(set(known_paths))
        },
        "followers_upload_copies": sum(swarm_result.followers_media_upload) / size,
        "creator_distributed_copies": swarm_result.creator_distributed_copies,
        "peak_rss_bytes": max(swarm_result.peak_rss.values(), default=0),
        "peak_rss_creator_bytes": swarm_result.peak_rss.get("creator", 0),
        "peak_rss_median_follower_bytes": statistics.median(
            [v for k, v in swarm_result.peak_rss.items() if k != "creator"] or [0]
        ),
        "completions_s": sorted(done),
        "visible_s": sorted(visible),
    }
    report: dict[str, Any] = {
        "config": {
            "followers": n,
            "size_bytes": size,
            "rate_bytes_per_s": args.rate,
            "creator_rate_bytes_per_s": args.creator_rate,
            "poll_interval_s": args.poll_interval,
            "policy": args.policy,
            "fluid_bound_s": bound,
        },
        "swarm": swarm,
        "targets": {
            "creator_upload_copies_max": 1.2,
            "last_completion_over_bound_max": 1.5,
            "visible_p95_max_s": VISIBLE_P95_TARGET,
            "creator_push_messages_max": PUSH_MESSAGES_TARGET,
            "creator_upload_met": swarm["creator_upload_copies"] <= 1.2,
            "last_completion_met": swarm["last_completion_over_bound"] <= 1.5,
            "visible_p95_met": swarm["visible_p95_s"] <= VISIBLE_P95_TARGET,
            "creator_push_messages_met": 0 < swarm["creator_push_messages"] <= PUSH_MESSAGES_TARGET,
        },
        "environment": environment,
    }
    if http_result is not None:
        h_done = http_result.completions
        h_last = max(h_done) if len(h_done) == n else math.inf
        http = {
            "completed": len(h_done),
            "creator_upload_bytes": http_result.creator_upload,
            "creator_upload_copies": http_result.creator_upload / size,
            "last_completion_s": h_last,
            "median_completion_s": statistics.median(h_done) if h_done else math.inf,
            "last_completion_over_bound": h_last / bound,
            "completions_s": sorted(h_done),
        }
        report["http"] = http
        report["swarm_over_http"] = {
            key: swarm[key] / http[key] if http[key] else math.nan
            for key in ("creator_upload_copies", "last_completion_s", "median_completion_s")
        }
    return report


def table(report: dict[str, Any]) -> str:
    """Return the report as a human-readable table."""
    config, swarm = report["config"], report["swarm"]
    http = report.get("http")
    ratio = report.get("swarm_over_http", {})
    lines = [
        f"viral post: {config['followers']} followers, {mib(config['size_bytes'])},"
        f" U = {mib(config['rate_bytes_per_s'])}/s, U_c = {mib(config['creator_rate_bytes_per_s'])}"
        f"/s, policy {config['policy']}, fluid bound {config['fluid_bound_s']:.2f} s",
        "",
        f"{'':34}{'swarm':>12}{'HTTP':>12}{'swarm/HTTP':>12}",
    ]

    def row(label: str, key: str, fmt: str) -> None:
        s_val = swarm.get(key)
        h_val = http.get(key) if http else None
        r_val = ratio.get(key)
        lines.append(
            f"{label:34}{format(s_val, fmt) if s_val is not None else '-':>12}"
            f"{format(h_val, fmt) if h_val is not None else '-':>12}"
            f"{format(r_val, '.3f') if r_val is not None else '-':>12}"
        )

    row("creator upload / F (copies)", "creator_upload_copies", ".2f")
    row("last follower done (s)", "last_completion_s", ".2f")
    row("median follower done (s)", "median_completion_s", ".2f")
    row("last done / fluid bound", "last_completion_over_bound", ".2f")
    row("followers completed", "completed", "d")
    lines += [
        "",
        f"post -> visible: median {swarm['visible_median_s']:.2f} s,"
        f" p95 {swarm['visible_p95_s']:.2f} s (POST itself {swarm['post_request_s']:.2f} s;"
        f" head polls every {report['config']['poll_interval_s']:g} s)",
        f"push: the creator sent {swarm['creator_push_messages']} messages for the post;"
        f" {swarm['live_followers']} of {report['config']['followers']} followers live,"
        f" path lengths {swarm['path_length_histogram']} (hops: followers)",
        f"followers uploaded {swarm['followers_upload_copies']:.2f} copies;"
        f" peak RSS of a node {mib(swarm['peak_rss_bytes'])}"
        f" (creator {mib(swarm['peak_rss_creator_bytes'])},"
        f" median follower {mib(swarm['peak_rss_median_follower_bytes'])})",
        "",
        "targets: "
        + ", ".join(
            f"{name} {'met' if report['targets'][name + '_met'] else 'MISSED'}"
            for name in (
                "creator_upload",
                "last_completion",
                "visible_p95",
                "creator_push_messages",
            )
        ),
        f"load average {report['environment']['loadavg_before']} before,"
        f" {report['environment']['loadavg_after']} after",
    ]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    """Save the followers' completion-time CDFs (swarm and HTTP) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = report["config"]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    series = [("swarm (swarmfeed)", report["swarm"]["completions_s"], "tab:blue")]
    if "http" in report:
        series.append(("plain HTTP, shared cap", report["http"]["completions_s"], "tab:red"))
    n = config["followers"]
    for label, values, color in series:
        xs = sorted(values)
        ys = [(i + 1) / n for i in range(len(xs))]
        ax.step([0.0, *xs], [0.0, *ys], where="post", label=label, color=color)
    ax.axvline(config["fluid_bound_s"], color="gray", linestyle="--", label="fluid-model bound")
    ax.axvline(1.5 * config["fluid_bound_s"], color="gray", linestyle=":", label="1.5 x bound")
    ax.set_xscale("log")
    ax.set_xlabel("seconds from the post existing to the follower holding all media")
    ax.set_ylabel("fraction of followers done")
    ax.set_ylim(0, 1.02)
    ax.set_title(
        f"{n} followers, {config['size_bytes'] / MiB:.0f} MiB,"
        f" {config['rate_bytes_per_s'] / MiB:.0f} MiB/s upload each"
        f" (policy {config['policy']})"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------


def node_args(rate: int, args: argparse.Namespace) -> list[str]:
    """Return the extra command-line flags of one node."""
    extra = ["--upload-rate", str(rate), "--rate-limit-local", "--seed-policy", args.policy]
    if args.download_rate:
        extra += ["--download-rate", str(args.download_rate)]
    return extra


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return the report."""
    environment: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": loadavg(),
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-viral-", dir=args.workdir))
    cleanup = Cleanup()
    started = time.monotonic()
    try:
        media = workdir / "viral.bin"
        make_media(media, args.size)
        swarm = LocalSwarm(
            workdir / "nodes", poll_interval=args.poll_interval, republish_interval=60.0
        )
        cleanup.swarm = swarm
        creator = swarm.add("creator", extra_args=node_args(args.creator_rate, args), start=False)
        followers = [
            swarm.add(f"f{i:02d}", extra_args=node_args(args.rate, args), start=False)
            for i in range(1, args.followers + 1)
        ]
        log(args, f"starting {len(swarm.nodes)} node processes in {workdir}")
        launch_all(swarm, swarm.nodes, timeout=args.start_timeout)
        environment["startup_s"] = round(time.monotonic() - started, 1)
        log(args, f"all nodes answer after {environment['startup_s']} s")
        sampler = MemorySampler(swarm.nodes)
        sampler.start()
        follow_all(creator, followers)

        http_result = None
        if not args.skip_http:
            log(args, "HTTP baseline: the creator's address serves the file to every follower")
            http_result = run_http_baseline(
                creator.ip,
                [node.ip for node in followers],
                media,
                args.creator_rate,
                cleanup,
                timeout=max(args.timeout, 3 * args.followers * args.size / args.creator_rate),
            )
        log(args, "swarm: posting the media")
        environment["loadavg_at_post"] = loadavg()
        swarm_result = run_swarm(swarm, creator, followers, media, args)
        sampler.sample()
        sampler.stopped.set()
        swarm_result.peak_rss = dict(sampler.peaks)
        environment["loadavg_after"] = loadavg()
        environment["total_runtime_s"] = round(time.monotonic() - started, 1)
        report = summarize(args, swarm_result, http_result, environment)
        if args.keep:
            report["workdir"] = str(workdir)
        return report
    finally:
        cleanup.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def log(args: argparse.Namespace, message: str) -> None:
    """Print progress to stderr unless --quiet."""
    progress(args.quiet, message)


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--followers", type=int, default=30, help="number of followers N [30]")
    p.add_argument("--size", type=parse_size, default=32 * MiB, help="media size F [32MiB]")
    p.add_argument("--rate", type=parse_size, default=4 * MiB, help="upload cap U per node [4MiB]")
    p.add_argument("--creator-rate", type=parse_size, default=None, help="creator cap U_c [U]")
    p.add_argument("--download-rate", type=parse_size, default=0, help="download cap [none]")
    p.add_argument("--poll-interval", type=float, default=300.0, help="head poll interval [300 s]")
    p.add_argument("--policy", choices=POLICIES, default="adaptive", help="seeding policy")
    p.add_argument("--skip-http", action="store_true", help="do not run the HTTP baseline")
    p.add_argument("--sample-interval", type=float, default=0.25, help="timeline poll [0.25 s]")
    p.add_argument("--timeout", type=float, default=180.0, help="bound on the swarm run [180 s]")
    p.add_argument("--start-timeout", type=float, default=180.0, help="bound on node start")
    p.add_argument("--out", type=Path, default=Path("bench-output"), help="report folder")
    p.add_argument("--workdir", type=Path, default=None, help="parent of the temporary nodes")
    p.add_argument("--keep", action="store_true", help="keep the node folders (logs)")
    p.add_argument("--json", action="store_true", help="print the JSON report to stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; return the exit code."""
    args = parser().parse_args(argv)
    if args.creator_rate is None:
        args.creator_rate = args.rate
    if args.followers < 1 or args.size < 1 or args.rate < 1 or args.creator_rate < 1:
        parser().error("--followers, --size and the rates must be positive")
    if args.followers > 250:
        parser().error("at most 250 followers (one loopback address each)")
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("interrupted: all node processes stopped", file=sys.stderr)
        return 130
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_viral.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(report, args.out / "bench_viral_cdf.png")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
        print(
            f"\nreport: {args.out / 'bench_viral.json'}, plot: {args.out / 'bench_viral_cdf.png'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

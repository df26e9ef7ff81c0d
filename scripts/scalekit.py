"""Pieces of the scale benchmark: the feed host process and what is read off node processes."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from swarmfeed.localswarm import LocalNode, SwarmError

FEEDHOST = Path(__file__).resolve().parent / "feedhost.py"


class FeedHost:
    """``feedhost.py`` as a subprocess: generated feeds of many authors seeded from one engine."""

    def __init__(self, ip: str, helper_ips: list[str], root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.log = (root / "feedhost.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(FEEDHOST),
                "--ip",
                ip,
                "--dir",
                str(root),
                "--helper-ips",
                *helper_ips,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        hello = self._read()
        self.listen: str = hello["listen"]
        self.dht: list[str] = list(hello["dht"])
        self.authors: list[str] = []

    @property
    def bootstrap(self) -> list[str]:
        """Return the host's DHT endpoints (node ``--bootstrap`` values)."""
        return [self.listen, *self.dht]

    def _read(self) -> dict[str, Any]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise SwarmError(f"feedhost exited with {self.process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise SwarmError(f"feedhost: {answer['error']}")
        return answer

    def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        """Send one command and return its answer."""
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        stdin.flush()
        answer = self._read()
        self.authors += answer.get("authors", [])
        return answer

    def close(self) -> None:
        """Stop the host (and its engines)."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError, SwarmError, ValueError):
                self.call("quit")
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


_METRIC = re.compile(r"^([a-z_]+)(\{[^}]*\})?\s+([0-9.e+-]+)$", re.MULTILINE)


def metrics(node: LocalNode) -> dict[str, float]:
    """Return the node's /metrics samples as ``name{labels}`` -> value."""
    text = node.client.get("/metrics").raise_for_status().text
    return {m.group(1) + (m.group(2) or ""): float(m.group(3)) for m in _METRIC.finditer(text)}


@dataclass
class DhtCount:
    """DHT packets a node sent: its engine's DHT node (BEP 5) and its BEP 44 client."""

    engine_out: int
    client_queries: int
    by_method: dict[str, int] = field(default_factory=dict)
    """Queries by sender and KRPC method ("engine get_peers", "client get", ...)."""

    @property
    def total(self) -> int:
        """Return every DHT packet sent."""
        return self.engine_out + self.client_queries

    def minus(self, other: DhtCount) -> DhtCount:
        """Return what was sent since ``other``."""
        return DhtCount(
            self.engine_out - other.engine_out,
            self.client_queries - other.client_queries,
            {k: v - other.by_method.get(k, 0) for k, v in self.by_method.items()},
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the figures for the report."""
        queries = sum(v for k, v in self.by_method.items() if k.startswith("engine "))
        return {
            "engine_out": self.engine_out,
            "engine_replies": self.engine_out - queries,
            "bep44_queries": self.client_queries,
            "total": self.total,
            "queries_by_method": {k: v for k, v in sorted(self.by_method.items()) if v},
        }


_METHOD = re.compile(r'^swarmfeed_(engine_dht_queries|dht_method_queries)_total\{method="(\w+)"\}$')


def dht_count(node: LocalNode) -> DhtCount:
    """Read the DHT packets ``node`` sent so far (``/api/status`` and ``/metrics``)."""
    status = node.api("GET", "/api/status")
    samples = metrics(node)
    by_method: dict[str, int] = {}
    for name, value in samples.items():
        if match := _METHOD.match(name):
            sender = "engine" if match.group(1) == "engine_dht_queries" else "client"
            by_method[f"{sender} {match.group(2)}"] = int(value)
    return DhtCount(
        int(status["dht_packets_out"]),
        int(samples.get("swarmfeed_dht_queries_total", 0)),
        by_method,
    )


def follow(node: LocalNode, author: str) -> None:
    """Follow ``author`` (hex key)."""
    node.api("POST", "/api/follows", json={"author": author})


def held(node: LocalNode) -> dict[str, tuple[int, int]]:
    """Return posts stored and complete bundles per followed author."""
    posts = {row["author"]: int(row["posts"]) for row in node.api("GET", "/api/follows")}
    bundles = {
        row["author"]: int(row["bundles"]) for row in node.api("GET", "/api/storage")["authors"]
    }
    return {author: (count, bundles.get(author, 0)) for author, count in posts.items()}


@dataclass
class Progress:
    """A follower's catch-up over time: (seconds, posts, complete bundles) samples."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)
    posts_done_s: float | None = None
    bundles_done_s: float | None = None


def cpu_seconds(node: LocalNode) -> float:
    """Return the user + system CPU seconds the node process used so far."""
    assert node.process is not None
    times = psutil.Process(node.process.pid).cpu_times()
    return float(times.user + times.system)


def rss(node: LocalNode) -> int:
    """Return the node process's resident set size in bytes."""
    assert node.process is not None
    return int(psutil.Process(node.process.pid).memory_info().rss)


def wait_until(what: str, check: Any, timeout: float, interval: float = 0.5) -> float:
    """Poll ``check()`` (another process's state) until truthy; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except (SwarmError, OSError, ValueError):
            pass
        time.sleep(interval)  # another process's state: there is no event to await
    raise SwarmError(f"timed out after {timeout:.0f} s waiting for {what}")

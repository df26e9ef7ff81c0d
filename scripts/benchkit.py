"""Helpers the benchmarks share: sizes, percentiles, node processes, memory sampling."""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.server
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from swarmfeed.localswarm import LocalNode, LocalSwarm

MiB = 1024 * 1024
UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": MiB, "mb": MiB, "mib": MiB}
UNITS |= {"g": 1024 * MiB, "gb": 1024 * MiB, "gib": 1024 * MiB}


def parse_size(text: str) -> int:
    """Parse ``32MiB``, ``4M``, ``512k`` or a plain byte count."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 32MiB, 4M, 65536)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def mib(value: float) -> str:
    """Format a byte count or rate in MiB."""
    return f"{value / MiB:.1f} MiB"


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def loadavg() -> list[float]:
    """Return the 1, 5 and 15 minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def make_media(path: Path, size: int) -> None:
    """Write ``size`` random bytes to ``path``."""
    with path.open("wb") as out:
        left = size
        while left > 0:
            block = os.urandom(min(left, 4 * MiB))
            out.write(block)
            left -= len(block)


def progress(quiet: bool, message: str) -> None:
    """Print progress to stderr unless ``quiet``."""
    if not quiet:
        print(f"[bench] {message}", file=sys.stderr, flush=True)


class Cleanup:
    """Stops every node process (and registered extras) on exit, on Ctrl-C and on SIGTERM."""

    def __init__(self) -> None:
        self.swarm: LocalSwarm | None = None
        self.server: http.server.ThreadingHTTPServer | None = None
        self.closers: list[Callable[[], None]] = []
        signal.signal(signal.SIGTERM, self._on_sigterm)

    @staticmethod
    def _on_sigterm(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def close(self) -> None:
        """Stop the HTTP server, the extras and every node (in parallel, bounded)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                closer()
        self.closers.clear()
        if self.swarm is not None:
            nodes = list(self.swarm.nodes)
            for node in nodes:
                if node.is_running() and node.process is not None:
                    node.process.send_signal(signal.SIGTERM)
            with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(lambda n: n.stop(timeout=20.0), nodes))
            self.swarm = None


def launch_all(swarm: LocalSwarm, nodes: Sequence[LocalNode], timeout: float) -> None:
    """Start every node process at once, then wait until each API answers."""
    swarm.start_many(nodes, timeout)


class MemorySampler(threading.Thread):
    """Samples the resident set size of every node process; keeps each one's peak."""

    def __init__(self, nodes: Sequence[LocalNode], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self.procs: dict[str, psutil.Process] = {}
        for node in nodes:
            if node.process is not None:
                self.procs[node.name] = psutil.Process(node.process.pid)
        self.stopped = threading.Event()

    def sample(self) -> None:
        """Take one sample of every process."""
        for name, proc in self.procs.items():
            with contextlib.suppress(psutil.Error):
                rss = int(proc.memory_info().rss)
                self.peaks[name] = max(self.peaks.get(name, 0), rss)

    def run(self) -> None:
        """Sample until stopped."""
        while not self.stopped.wait(self.interval):
            self.sample()

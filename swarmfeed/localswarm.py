"""Real node processes on distinct loopback addresses with a private DHT.

Used by the integration tests, ``swarmfeed demo`` and the benchmarks. Every node listens on its
own 127.0.0.x address, never joins the public DHT, and has LSD, UPnP and NAT-PMP off, so no
traffic leaves loopback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from swarmfeed.errors import SwarmfeedError


class SwarmError(SwarmfeedError):
    """A local node failed to start or to answer in time."""


def free_port(host: str, kind: int = socket.SOCK_STREAM, avoid: Collection[int] = ()) -> int:
    """Return a port that is free on ``host`` for both TCP and UDP right now.

    ``avoid``: ports already handed out on ``host`` but not bound yet (the kernel may offer a
    released port again at once).
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port in avoid:
            continue
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        try:
            with socket.socket(socket.AF_INET, other) as second:
                second.bind((host, port))
            return port
        except OSError:
            continue
    raise SwarmError(f"no free port on {host}")


@dataclass
class LocalNode:
    """One node process of a local swarm."""

    name: str
    ip: str
    home: Path
    bt_port: int
    http_port: int
    push_port: int = 0
    """UDP port of the node's push channel (0: any free port)."""
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables of the process (e.g. SWARMFEED_FAULT_POINT in tests)."""
    http_ip: str | None = None
    process: subprocess.Popen[bytes] | None = None
    _client: httpx.Client | None = None

    @property
    def listen(self) -> str:
        """Return the BitTorrent/DHT address."""
        return f"{self.ip}:{self.bt_port}"

    @property
    def url(self) -> str:
        """Return the HTTP base URL."""
        return f"http://{self.http_ip or self.ip}:{self.http_port}"

    @property
    def log_path(self) -> Path:
        """Return the file collecting the process's stdout and stderr."""
        return self.home / "process.log"

    @property
    def client(self) -> httpx.Client:
        """Return an HTTP client bound to this node."""
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=60.0)
        if "authorization" not in self._client.headers and self.web_token:
            self._client.headers["authorization"] = f"Bearer {self.web_token}"
        return self._client

    @property
    def web_token(self) -> str | None:
        """Return the access token the node wrote at start (only when its web UI is gated)."""
        path = self.home / "web_token"
        return path.read_text().strip() if path.exists() else None

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the node's API and return the JSON body; raise SwarmError on HTTP errors."""
        response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SwarmError(f"{self.name} {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def is_running(self) -> bool:
        """Return True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """Return what the process has logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_exit(self, timeout: float = 60.0) -> int:
        """Wait until the process ends on its own; return its exit code (-9 when killed)."""
        if self.process is None:
            raise SwarmError(f"{self.name} is not running")
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise SwarmError(f"{self.name} did not exit within {timeout}s") from exc
        if self._client is not None:
            self._client.close()
            self._client = None
        self.process = None
        return code

    def stop(self, timeout: float = 30.0) -> int | None:
        """Send SIGTERM and wait for a clean exit; return the exit code."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code


class LocalSwarm:
    """Starts and stops node processes that form a private DHT on loopback."""

    def __init__(
        self,
        root: Path,
        *,
        poll_interval: float = 1.0,
        republish_interval: float = 30.0,
        first_ip: int = 2,
        extra_args: Sequence[str] = (),
        python: str = sys.executable,
        subnet: str = "127.0.0",
    ) -> None:
        """Nodes get addresses ``<subnet>.<first_ip>``, ``<subnet>.<first_ip + 1>``, …"""
        self.root = root
        self.subnet = subnet
        self.poll_interval = poll_interval
        self.republish_interval = republish_interval
        self.next_ip = first_ip
        self.extra_args = list(extra_args)
        self.python = python
        self.nodes: list[LocalNode] = []

    def add(self, name: str, *, extra_args: Sequence[str] = (), start: bool = True) -> LocalNode:
        """Create a node on the next loopback address and (by default) start it."""
        ip = f"{self.subnet}.{self.next_ip}"
        self.next_ip += 1
        node = LocalNode(
            name=name,
            ip=ip,
            home=self.root / name,
            bt_port=(bt_port := free_port(ip)),
            http_port=(http_port := free_port(ip, avoid={bt_port})),
            push_port=free_port(ip, socket.SOCK_DGRAM, avoid={bt_port, http_port}),
            extra_args=[*self.extra_args, *extra_args],
        )
        node.home.mkdir(parents=True, exist_ok=True)
        self.nodes.append(node)
        if start:
            self.start(node)
        return node

    def bootstrap_for(self, node: LocalNode) -> list[str]:
        """Return the DHT bootstrap nodes for ``node``: a few other nodes of the swarm."""
        others = [other for other in self.nodes if other is not node]
        return [other.listen for other in others[:4]]

    def command(self, node: LocalNode) -> list[str]:
        """Return the command line that runs ``node``."""
        args = [
            self.python,
            "-m",
            "swarmfeed",
            "node",
            "--home",
            str(node.home),
            "--listen",
            node.listen,
            "--http",
            f"{node.http_ip or node.ip}:{node.http_port}",
            "--no-public-dht",
            "--poll-interval",
            str(self.poll_interval),
            "--republish-interval",
            str(self.republish_interval),
            "--push-port",
            str(node.push_port),
            "--log-level",
            os.environ.get("SWARMFEED_TEST_LOG_LEVEL", "INFO"),
        ]
        for boot in self.bootstrap_for(node):
            args += ["--bootstrap", boot]
        return args + node.extra_args

    def start(self, node: LocalNode, timeout: float = 60.0) -> None:
        """Start ``node``'s process and wait until its API answers."""
        self.spawn(node)
        self.wait_ready(node, timeout)

    def start_many(self, nodes: Sequence[LocalNode], timeout: float = 60.0) -> None:
        """Start the processes of ``nodes`` together; wait (``timeout`` in all) for their APIs.

        Each node bootstraps its DHT from other nodes of the swarm: start at least one of those
        first. Measured: nodes that only knew each other, all started together, found their
        routing tables empty and took tens of seconds longer to find each other's content.
        """
        for node in nodes:
            self.spawn(node)
        deadline = time.monotonic() + timeout
        for node in nodes:
            self.wait_ready(node, max(1.0, deadline - time.monotonic()))

    def spawn(self, node: LocalNode) -> None:
        """Start ``node``'s process without waiting for it."""
        env = dict(os.environ)
        env.pop("SWARMFEED_HOME", None)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(node.env)
        log = node.log_path.open("ab")
        node.process = subprocess.Popen(
            self.command(node), stdout=log, stderr=subprocess.STDOUT, env=env
        )
        log.close()

    def wait_ready(self, node: LocalNode, timeout: float) -> None:
        """Wait until ``node`` answers /api/status, failing early if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not node.is_running():
                raise SwarmError(f"{node.name} exited during start:\n{node.log_text()[-4000:]}")
            with contextlib.suppress(httpx.TransportError):
                if node.client.get("/api/status", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.1)  # polling another process's HTTP port: there is no event to await
        raise SwarmError(
            f"{node.name} did not answer within {timeout}s:\n{node.log_text()[-4000:]}"
        )

    def wait_for(self, what: str, check: Any, timeout: float = 60.0, interval: float = 0.2) -> Any:
        """Poll ``check()`` until it returns a truthy value (another process's state)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = check()
                if value:
                    return value
            except (SwarmError, httpx.TransportError) as exc:
                last_error = exc
            time.sleep(interval)  # the other process exposes no push channel to the test
        logs = "\n".join(f"--- {n.name}\n{n.log_text()[-3000:]}" for n in self.nodes)
        raise SwarmError(f"timed out after {timeout}s waiting for {what} ({last_error})\n{logs}")

    def stop_all(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[LocalSwarm]:
        """Stop every node on exit."""
        try:
            yield self
        finally:
            self.stop_all()

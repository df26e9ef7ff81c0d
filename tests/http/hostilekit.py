"""What the hostile-client tests share: the node under attack and the attackers' addresses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rawhttp import Gauge

from swarmfeed.localswarm import LocalNode

# Small enough to send several times over in a test, large enough for real files.
MAX_UPLOAD = 1024 * 1024
ATTACKERS = [f"127.0.0.{i}" for i in range(162, 170)]


@dataclass
class Target:
    """A node under attack and how to watch it."""

    node: LocalNode
    tmp: Path

    @property
    def host(self) -> str:
        return self.node.http_ip or self.node.ip

    @property
    def port(self) -> int:
        return self.node.http_port

    @property
    def staging(self) -> Path:
        return self.node.home / "staging"

    @property
    def gauge(self) -> Gauge:
        assert self.node.process is not None
        return Gauge(self.node.process.pid)

    def alive(self) -> bool:
        return self.node.client.get("/api/status").status_code == 200

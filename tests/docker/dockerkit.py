"""Reading docker/Dockerfile and docker/compose.yaml without a Docker daemon."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
DASHBOARD = ROOT / "docker" / "grafana-dashboard.json"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction (continuation lines joined, comments dropped)."""

    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """Return a JSON-array argument (``["swarmfeed", "node"]``) as a list."""
        value = json.loads(self.arguments)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value

    def pairs(self) -> dict[str, str]:
        """Return ``KEY=value`` arguments (ENV) as a dict."""
        return dict(item.split("=", 1) for item in shlex.split(self.arguments))


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Parse ``path`` into its instructions."""
    found: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def image_env() -> dict[str, str]:
    """Return the environment the image sets (every ENV instruction)."""
    env: dict[str, str] = {}
    for item in instructions():
        if item.keyword == "ENV":
            env.update(item.pairs())
    return env


def entrypoint_command() -> list[str]:
    """Return the command the image runs: ENTRYPOINT followed by CMD."""
    found = {i.keyword: i for i in instructions() if i.keyword in ("ENTRYPOINT", "CMD")}
    return found["ENTRYPOINT"].exec_form() + found["CMD"].exec_form()


def healthcheck_command() -> list[str]:
    """Return the HEALTHCHECK's command (exec form after CMD)."""
    (check,) = [i for i in instructions() if i.keyword == "HEALTHCHECK"]
    options, _, command = check.arguments.partition("CMD ")
    assert "--interval" in options
    return Instruction("CMD", command).exec_form()


def compose() -> dict[str, Any]:
    """Return docker/compose.yaml."""
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data

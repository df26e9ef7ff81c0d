"""The image's command, run as a process (no Docker daemon here to build or run the image).

The exact ENTRYPOINT + CMD of docker/Dockerfile runs with the image's environment, except
for the addresses (a loopback address of this test instead of 0.0.0.0) and a private DHT: the
node must come up configured by environment alone, write JSON log lines, pass the image's
HEALTHCHECK command, stop on SIGTERM with exit code 0, and exit with the documented codes
when its configuration or its port is wrong.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dockerkit import entrypoint_command, healthcheck_command, image_env

from swarmfeed.cli.exits import ExitCode
from swarmfeed.localswarm import free_port

pytestmark = pytest.mark.integration

IP = "127.0.2.70"


def executable(command: list[str]) -> list[str]:
    """Resolve the image's ``swarmfeed`` to this environment's console script."""
    script = Path(sys.executable).parent / command[0]
    return [
        str(script) if script.exists() else shutil.which(command[0]) or command[0],
        *command[1:],
    ]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    bt = free_port(IP)
    http = free_port(IP, avoid={bt})
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SWARMFEED_")}
    environment.update(image_env())
    environment.update(
        SWARMFEED_HOME=str(data),
        SWARMFEED_LISTEN=f"{IP}:{bt}",
        SWARMFEED_HTTP=f"{IP}:{http}",
        SWARMFEED_PUBLIC_DHT="false",  # never leave loopback in a test
        # The image's 0.0.0.0 gates the web UI with the token; so does this on loopback.
        SWARMFEED_REQUIRE_TOKEN="true",
    )
    return environment


@pytest.fixture
def node(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "stderr.log").open("wb")
    process = subprocess.Popen(
        executable(entrypoint_command()), env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def health(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        executable(healthcheck_command()),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_image_command_runs_a_healthy_node_that_stops_on_sigterm(
    env: dict[str, str], node: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    deadline = time.monotonic() + 60
    while (probe := health(env)).returncode != 0:
        assert node.poll() is None, (tmp_path / "stderr.log").read_text()
        assert time.monotonic() < deadline, probe.stderr
        time.sleep(0.2)  # another process's readiness: polled like Docker's HEALTHCHECK does
    assert probe.stdout.startswith("healthy")
    data = Path(env["SWARMFEED_HOME"])
    assert (data / "identity.key").exists() and (data / "web_token").exists()
    node.send_signal(signal.SIGTERM)
    assert node.wait(timeout=30) == ExitCode.OK
    lines = (tmp_path / "stderr.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any("SIGTERM" in r["message"] for r in records)
    assert records[-1]["message"] == "node stopped"
    stopped = health(env)
    assert stopped.returncode == ExitCode.FAILURE and "unhealthy" in stopped.stderr


def test_a_wrong_setting_in_the_environment_exits_with_the_config_code(
    env: dict[str, str],
) -> None:
    env["SWARMFEED_STORAGE_BUDGET_BYTES"] = "a lot"
    done = subprocess.run(
        executable(entrypoint_command()),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.CONFIG, done.stderr
    assert "storage_budget_bytes" in done.stderr


def test_a_port_in_use_exits_with_the_unavailable_code(env: dict[str, str]) -> None:
    host, port = env["SWARMFEED_HTTP"].rsplit(":", 1)
    with socket.socket() as taken:
        taken.bind((host, int(port)))
        taken.listen()
        done = subprocess.run(
            executable(entrypoint_command()),
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert done.returncode == ExitCode.UNAVAILABLE, done.stderr[-2000:]

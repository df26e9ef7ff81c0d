"""The Docker image and compose file, checked without a Docker daemon (none where tests run).

The Dockerfile is parsed and checked for what a working seedbox image needs: a non-root user
that owns its data volume (created and chowned before VOLUME), a build context without .venv,
.git or test output, a health check through ``swarmfeed health``, and an environment that is a
valid node configuration. tests/docker/test_docker_entrypoint.py runs the image's command.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dockerkit import (
    COMPOSE,
    DASHBOARD,
    DOCKERIGNORE,
    ROOT,
    compose,
    entrypoint_command,
    healthcheck_command,
    image_env,
    instructions,
)

from swarmfeed.node.config import Settings

KEYWORDS = [i.keyword for i in instructions()]


def position(keyword: str, containing: str = "") -> int:
    for index, item in enumerate(instructions()):
        if item.keyword == keyword and containing in item.arguments:
            return index
    raise AssertionError(f"no {keyword} {containing!r} in the Dockerfile")


def volume() -> str:
    (path,) = next(i.exec_form() for i in instructions() if i.keyword == "VOLUME")
    return path


def test_the_node_runs_as_a_user_that_owns_its_volume() -> None:
    data = volume()
    user = [i.arguments for i in instructions() if i.keyword == "USER"]
    assert user == ["swarmfeed"]
    created = position("RUN", f"mkdir -p {data}")
    owned = position("RUN", f"chown swarmfeed:swarmfeed {data}")
    assert created <= owned < position("VOLUME") and owned < position("USER")
    assert position("USER") < position("VOLUME") < position("ENTRYPOINT")
    assert image_env()["SWARMFEED_HOME"] == data


def test_the_image_command_is_the_node_and_its_probe_is_swarmfeed_health() -> None:
    assert entrypoint_command() == ["swarmfeed", "node"]
    assert healthcheck_command() == ["swarmfeed", "health"]
    assert [i.arguments for i in instructions() if i.keyword == "STOPSIGNAL"] == ["SIGTERM"]


def test_the_image_environment_is_a_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in image_env().items():
        monkeypatch.setenv(key, value)
    settings = Settings.load(home=None)
    assert settings.home == Path(volume())
    assert settings.log_format == "json"
    assert settings.needs_token  # the web UI is reachable beyond the container: gated
    exposed = {e for i in instructions() if i.keyword == "EXPOSE" for e in i.arguments.split()}
    port = settings.listen_endpoint[1]
    assert {f"{port}/tcp", f"{port}/udp", f"{settings.http_endpoint[1]}/tcp"} == exposed


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".git", ".venv", "test-output", "bench-output", "**/__pycache__"} <= ignored
    copied = [i.arguments.split()[:-1] for i in instructions() if i.keyword == "COPY"]
    for sources in copied:
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source not in ignored


def test_compose_publishes_the_ports_and_mounts_the_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    service = compose()["services"]["swarmfeed"]
    assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (COMPOSE.parent / service["build"]["context"] / "docker" / "Dockerfile").exists()
    assert set(service["ports"]) == {"6881:6881/tcp", "6881:6881/udp", "127.0.0.1:8080:8080/tcp"}
    (mount,) = service["volumes"]
    name, _, target = mount.partition(":")
    assert target == volume() and name in compose()["volumes"]
    assert service["restart"] == "unless-stopped"
    grace = re.fullmatch(r"(\d+)s", service["stop_grace_period"])
    assert grace is not None and int(grace.group(1)) >= 30  # SIGTERM flushes for up to 20 s
    for key, value in {**image_env(), **service["environment"]}.items():
        monkeypatch.setenv(key, str(value))
    settings = Settings.load(home=None)
    assert settings.storage_budget_bytes == 500 * 1024**3


def test_the_grafana_dashboard_reads_metrics_the_node_exports() -> None:
    import json

    dashboard = json.loads(DASHBOARD.read_text())
    source = (ROOT / "swarmfeed" / "node" / "metrics.py").read_text()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    for expr in exprs:
        for name in re.findall(r"swarmfeed_[a-z_]+", expr):
            base = name.removesuffix("_total")
            assert f'"{base}"' in source or f'"{base}' in source, name

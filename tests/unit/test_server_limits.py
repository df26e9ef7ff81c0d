"""The soft open-file limit is raised to what the node needs, within the hard limit."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from swarmfeed.engine.engine import ENGINE_SOCKETS, Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.http.limits import HttpLimits
from swarmfeed.server import runner


@pytest.mark.parametrize(
    ("soft", "hard", "expected", "set_to"),
    [
        (256, 10_240, 656, (656, 10_240)),  # macOS defaults: raised
        (1024, resource.RLIM_INFINITY, 1024, None),  # enough already: never lowered
        (256, 512, 512, (512, 512)),  # capped by the hard limit (and logged)
        (resource.RLIM_INFINITY, resource.RLIM_INFINITY, resource.RLIM_INFINITY, None),
    ],
)
def test_raise_descriptor_limit(
    monkeypatch: pytest.MonkeyPatch,
    soft: int,
    hard: int,
    expected: int,
    set_to: tuple[int, int] | None,
) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (soft, hard))
    monkeypatch.setattr(resource, "setrlimit", lambda kind, limits: calls.append(limits))
    needed = runner.descriptors_needed(272, HttpLimits())
    assert needed == 656  # 200 peers + 40 files + 32 engine sockets, 256 HTTP, 128 reserved
    assert runner.raise_descriptor_limit(needed) == expected
    assert calls == ([set_to] if set_to else [])


def test_the_engine_states_what_its_session_may_hold(tmp_path: Path) -> None:
    engine = Engine(EngineConfig(listen_interface="127.0.0.1:0"), tmp_path)
    # The engine's connections_limit (400), libtorrent's file_pool_size (40), its own sockets.
    assert engine.descriptors_needed() == 400 + 40 + ENGINE_SOCKETS

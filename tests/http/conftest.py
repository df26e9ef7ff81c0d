"""Node processes for the hostile-client suite, on loopback addresses 127.0.0.160-169.

Nodes listen on .160 (open, loopback only) and .161 (``--require-token``); attacks come from
.162-.169 so that per-client caps can be told apart from the totals. Each node runs with its
temp folder inside the test's folder, so anything spooled outside ``<home>/staging`` shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hostilekit import MAX_UPLOAD, Target

from swarmfeed.localswarm import LocalSwarm


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalSwarm, Path]]:
    root = tmp_path_factory.mktemp("hostile")
    swarm = LocalSwarm(root, poll_interval=3600, republish_interval=3600, first_ip=160)
    with swarm.running():
        yield swarm, root


def _start(swarm: LocalSwarm, root: Path, name: str, args: list[str]) -> Target:
    tmp = root / f"{name}-tmp"
    tmp.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(tmp))  # the node's tempfile folder, watched by the tests
        node = swarm.add(name, extra_args=args)
    return Target(node, tmp)


@pytest.fixture(scope="module")
def target(swarm: tuple[LocalSwarm, Path]) -> Target:
    """An open node (loopback only) accepting posts of up to MAX_UPLOAD bytes."""
    return _start(*swarm, "target", ["--max-upload", str(MAX_UPLOAD)])


@pytest.fixture(scope="module")
def gated(swarm: tuple[LocalSwarm, Path], target: Target) -> Target:
    """A node whose web UI asks for its access token."""
    return _start(*swarm, "gated", ["--require-token"])

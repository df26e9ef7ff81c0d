"""Fixtures of the engine tests: real libtorrent sessions on 127.0.0.60-79, private DHT."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from enginekit import Swarm


@pytest.fixture
def anyio_backend() -> str:
    """The engine is asyncio code."""
    return "asyncio"


@pytest.fixture
async def swarm(tmp_path: Path) -> AsyncIterator[Swarm]:
    """A factory of engines on their own loopback addresses, all stopped after the test."""
    swarm = Swarm(tmp_path)
    try:
        yield swarm
    finally:
        await swarm.close()

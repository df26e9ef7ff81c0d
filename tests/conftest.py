"""Shared fixtures: where test artifacts go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Return the folder for artifacts a person may want to look at (screenshots, logs)."""
    path = Path(os.environ.get("SWARMFEED_TEST_OUTPUT", "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path

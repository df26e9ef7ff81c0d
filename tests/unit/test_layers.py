"""Imports run one way: core -> drivers -> node -> http -> api | web -> server -> cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import swarmfeed

PACKAGE = Path(swarmfeed.__file__).parent
# What each part of swarmfeed may import (besides itself and errors).
ALLOWED = {
    "core": set(),
    "dht": {"core"},
    "engine": {"core", "store"},
    "store": {"core"},
    "push": {"core", "dht"},
    "node": {"core", "dht", "engine", "push", "store", "supervisor"},
    "http": {"core", "node", "store"},
    "api": {"core", "engine", "http", "node", "store"},
    "web": {"core", "http", "node", "store"},
    "server": {"api", "core", "http", "node", "store", "web", "__version__"},
    "cli": {"core", "demo", "node", "server", "store"},
}


def imported_parts(path: Path) -> set[str]:
    """Return the top-level swarmfeed parts ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("swarmfeed."):
                found.add(node.module.split(".")[1])
            elif node.module == "swarmfeed":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("swarmfeed.")
            )
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_imports_run_one_way(part: str) -> None:
    for path in sorted((PACKAGE / part).rglob("*.py")):
        wrong = imported_parts(path) - ALLOWED[part] - {part, "errors"}
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


def test_the_api_and_the_pages_never_import_each_other() -> None:
    assert "web" not in ALLOWED["api"] and "api" not in ALLOWED["web"]

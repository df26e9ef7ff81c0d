"""follows.json: kinds, and the migration of a version-1 file (node/followlist)."""

from __future__ import annotations

import json
from pathlib import Path

from swarmfeed.core.followfile import FollowKind, ListEntry
from swarmfeed.node.followlist import FollowList

A = "aa" * 32
B = "bb" * 32


def test_kinds_are_kept_across_loads(tmp_path: Path) -> None:
    path = tmp_path / "follows.json"
    listed = FollowList(path)
    assert not listed.exists
    assert listed.add(A)
    assert listed.add(B, FollowKind.MIRROR)
    assert not listed.add(B, FollowKind.MIRROR)
    assert listed.add(A, FollowKind.MIRROR)  # a change of kind
    again = FollowList(path)
    assert again.entries() == [ListEntry(A, FollowKind.MIRROR), ListEntry(B, FollowKind.MIRROR)]
    assert json.loads(path.read_text())["version"] == 2
    assert again.remove(A) and not again.remove(A)
    assert FollowList(path).authors() == [B]


def test_a_version_1_list_is_migrated_and_kept_beside(tmp_path: Path) -> None:
    path = tmp_path / "follows.json"
    old = json.dumps({"version": 1, "follows": [{"author": A}, {"author": "junk"}, {"author": B}]})
    path.write_text(old)
    listed = FollowList(path)
    assert listed.entries() == [ListEntry(A), ListEntry(B)]
    assert (tmp_path / "follows.v1.json").read_text() == old
    data = json.loads(path.read_text())
    assert data == {
        "version": 2,
        "follows": [{"author": A, "kind": "follow"}, {"author": B, "kind": "follow"}],
    }
    assert FollowList(path).entries() == listed.entries()


def test_an_unreadable_list_is_treated_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "follows.json"
    path.write_text("{broken")
    assert FollowList(path).authors() == []

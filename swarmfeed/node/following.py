"""Taking over a follow list: follow or mirror each listed author, and say what changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from swarmfeed.core.followfile import ListEntry
from swarmfeed.node.follower import Follower
from swarmfeed.store.database import Database


@dataclass
class ImportReport:
    """What importing a follow list changed."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Already followed, now with the kind the list gives."""
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def import_follows(
    follower: Follower, db: Database, own_author: str, entries: Sequence[ListEntry]
) -> ImportReport:
    """Follow or mirror every author of ``entries`` (the node's own author is refused)."""
    report = ImportReport()
    for entry in entries:
        if entry.author == own_author:
            report.refused.append((entry.author, "a node cannot follow its own author"))
            continue
        before = db.follows.kind(entry.author)
        follower.follow(entry.author, entry.kind)
        if before is None:
            report.added.append(entry.author)
        elif before != entry.kind.value:
            report.changed.append(entry.author)
        else:
            report.unchanged.append(entry.author)
    return report

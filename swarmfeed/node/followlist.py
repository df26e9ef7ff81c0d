"""The follow list on disk (``follows.json``): which authors this node follows, and how.

The database is a view that can be rebuilt; the follow list is the user's decision and must
survive the database, so it is kept in its own small file, rewritten atomically on each change.

Version 2 (core/followfile.FORMAT_VERSION) gives each author a kind::

    {"version": 2, "follows": [{"author": "<64 hex>", "kind": "follow"},
                               {"author": "<64 hex>", "kind": "mirror"}]}

Version 1 had no kinds (``{"version": 1, "follows": [{"author": "<64 hex>"}]}``): every author
in it is a plain follow. A version-1 file is read as such, copied to ``follows.v1.json`` (for a
downgrade) and rewritten as version 2 the first time the node loads it.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from swarmfeed.core.followfile import (
    FORMAT_VERSION,
    FollowKind,
    ListEntry,
    ListFormat,
    format_follow_list,
    parse_kind,
)
from swarmfeed.core.identity import parse_author
from swarmfeed.errors import InvalidInput
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.followlist")


class FollowList:
    """An ordered set of followed authors (hex keys) with their kinds, persisted as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.exists = path.exists()
        """False for a home made by a version without the file (the index holds the list)."""
        self._entries: dict[str, FollowKind] = self._load()

    def _load(self) -> dict[str, FollowKind]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error("cannot read %s (%s); the database's follow list is used", self.path, exc)
            return {}
        version = data.get("version", 1) if isinstance(data, dict) else 1
        entries: dict[str, FollowKind] = {}
        listed = data.get("follows", []) if isinstance(data, dict) else []
        for entry in listed if isinstance(listed, list) else []:
            try:
                key = parse_author(str(entry.get("author", ""))).hex()
                kind = parse_kind(str(entry.get("kind", FollowKind.FOLLOW.value)))
            except (InvalidInput, AttributeError):
                log.warning("skipping a malformed entry in %s: %r", self.path, entry)
                continue
            entries[key] = kind
        if version == 1:
            self._migrate_v1(entries)
        return entries

    def _migrate_v1(self, entries: dict[str, FollowKind]) -> None:
        """Keep the version-1 file beside the list and rewrite it as version 2."""
        backup = self.path.with_name("follows.v1.json")
        if not backup.exists():
            shutil.copyfile(self.path, backup)
        self._entries = entries
        self._save()
        log.info(
            "follow list %s migrated to version %d (%d authors, all plain follows; the old file"
            " is kept as %s)",
            self.path,
            FORMAT_VERSION,
            len(entries),
            backup.name,
        )

    def authors(self) -> list[str]:
        """Return the followed authors in the order they were added."""
        return list(self._entries)

    def entries(self) -> list[ListEntry]:
        """Return every author with its kind, in the order they were added."""
        return [ListEntry(author, kind) for author, kind in self._entries.items()]

    def kind(self, author: str) -> FollowKind | None:
        """Return how ``author`` is followed, or None when it is not listed."""
        return self._entries.get(author)

    def add(self, author: str, kind: FollowKind = FollowKind.FOLLOW) -> bool:
        """List ``author`` as ``kind``; return False if it was listed so already."""
        if self._entries.get(author) is kind:
            return False
        self._entries[author] = kind
        self._save()
        return True

    def remove(self, author: str) -> bool:
        """Remove ``author``; return False if it was not listed."""
        if author not in self._entries:
            return False
        del self._entries[author]
        self._save()
        return True

    def replace(self, entries: list[ListEntry]) -> None:
        """Write ``entries`` as the whole list."""
        self._entries = {entry.author: entry.kind for entry in entries}
        self._save()

    def _save(self) -> None:
        text = format_follow_list(self.entries(), ListFormat.JSON)
        atomic_write(self.path, text.encode())
        self.exists = True

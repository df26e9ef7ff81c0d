"""The follow list on disk (``follows.json``): which authors this node follows.

The database is a view that can be rebuilt; the follow list is the user's decision and must
survive the database, so it is kept in its own small file, rewritten atomically on each change.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from swarmfeed.core.identity import parse_author
from swarmfeed.errors import InvalidInput
from swarmfeed.store.files import atomic_write

log = logging.getLogger("swarmfeed.followlist")

FORMAT_VERSION = 1


class FollowList:
    """An ordered set of followed authors (hex keys), persisted as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.exists = path.exists()
        """False for a home made by a version without the file (the index holds the list)."""
        self._authors: list[str] = self._load()

    def _load(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.error("cannot read %s (%s); the database's follow list is used", self.path, exc)
            return []
        authors: list[str] = []
        entries = data.get("follows", []) if isinstance(data, dict) else []
        for entry in entries if isinstance(entries, list) else []:
            try:
                key = parse_author(str(entry.get("author", ""))).hex()
            except (InvalidInput, AttributeError):
                log.warning("skipping a malformed entry in %s: %r", self.path, entry)
                continue
            if key not in authors:
                authors.append(key)
        return authors

    def authors(self) -> list[str]:
        """Return the followed authors in the order they were added."""
        return list(self._authors)

    def add(self, author: str) -> bool:
        """Add ``author``; return False if it was already listed."""
        if author in self._authors:
            return False
        self._authors.append(author)
        self._save()
        return True

    def remove(self, author: str) -> bool:
        """Remove ``author``; return False if it was not listed."""
        if author not in self._authors:
            return False
        self._authors.remove(author)
        self._save()
        return True

    def replace(self, authors: list[str]) -> None:
        """Write ``authors`` as the whole list."""
        self._authors = list(dict.fromkeys(authors))
        self._save()

    def _save(self) -> None:
        body = {"version": FORMAT_VERSION, "follows": [{"author": a} for a in self._authors]}
        atomic_write(self.path, (json.dumps(body, indent=1) + "\n").encode())
        self.exists = True

"""Follow lists as files: the kinds of follow, and the import/export formats (pure).

An operator takes over a list of authors from another (or from a script) with
``swarmfeed follows import FILE``; ``swarmfeed follows export`` writes one. Two formats:

- **lines**: one author per line, an address (BEP 46 magnet link) or 64 hex digits, optionally
  followed by its kind (``follow`` or ``mirror``); ``#`` starts a comment; blank lines are
  ignored. ``mirror magnet:?xs=...`` (kind first) is accepted too.
- **json**: the node's own ``follows.json`` (``{"version": 2, "follows": [{"author": ...,
  "kind": ...}]}``), a list of such objects, or a list of address strings.

Every problem is reported with its line number; the good entries are kept.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from swarmfeed.core.identity import author_address, parse_author
from swarmfeed.errors import InvalidInput

MAX_LIST_BYTES = 4 * 1024 * 1024
"""Largest follow-list file read (about 50,000 authors)."""
MAX_LINE_CHARS = 1024
FORMAT_VERSION = 2
"""Version of ``follows.json`` with kinds (version 1 listed followed authors only)."""


class FollowKind(enum.StrEnum):
    """How a node keeps an author it follows."""

    FOLLOW = "follow"
    """Every page; media within the per-post cap and the storage budgets, evictable."""
    MIRROR = "mirror"
    """The whole history, every page and bundle, newest first; never evicted."""


class ListFormat(enum.StrEnum):
    """A follow-list file format."""

    LINES = "lines"
    JSON = "json"


@dataclass(frozen=True)
class ListEntry:
    """One author of a follow list (hex key) and how to keep it."""

    author: str
    kind: FollowKind = FollowKind.FOLLOW


@dataclass(frozen=True)
class ListProblem:
    """A line that could not be read, and why."""

    line: int
    reason: str


@dataclass
class ParsedList:
    """The entries read from a follow-list file and the lines refused."""

    entries: list[ListEntry] = field(default_factory=list)
    problems: list[ListProblem] = field(default_factory=list)


def parse_kind(text: str) -> FollowKind:
    """Return the follow kind named by ``text`` or raise InvalidInput."""
    try:
        return FollowKind(text.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown kind {text!r} (follow or mirror)") from None


def parse_follow_list(
    text: str, default: FollowKind = FollowKind.FOLLOW, fmt: ListFormat | None = None
) -> ParsedList:
    """Read a follow list in either format (JSON when it starts with ``{`` or ``[``).

    An author listed twice is kept once, with the last kind given. ``default`` is the kind of
    entries that name none.
    """
    if len(text) > MAX_LIST_BYTES:
        raise InvalidInput(f"a follow list is at most {MAX_LIST_BYTES} bytes")
    if fmt is None:
        fmt = ListFormat.JSON if text.lstrip()[:1] in ("{", "[") else ListFormat.LINES
    parsed = _parse_json(text, default) if fmt is ListFormat.JSON else _parse_lines(text, default)
    order: dict[str, ListEntry] = {}
    for entry in parsed.entries:
        order.pop(entry.author, None)
        order[entry.author] = entry
    parsed.entries = list(order.values())
    return parsed


def _parse_lines(text: str, default: FollowKind) -> ParsedList:
    parsed = ParsedList()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            parsed.entries.append(_line_entry(line, default))
        except InvalidInput as exc:
            parsed.problems.append(ListProblem(number, str(exc)))
    return parsed


def _line_entry(line: str, default: FollowKind) -> ListEntry:
    if len(line) > MAX_LINE_CHARS:
        raise InvalidInput(f"line longer than {MAX_LINE_CHARS} characters")
    words = line.split()
    if len(words) > 2:
        raise InvalidInput("expected an address and at most a kind (follow or mirror)")
    if len(words) == 2 and words[0].lower() in tuple(FollowKind):
        words.reverse()
    kind = parse_kind(words[1]) if len(words) == 2 else default
    return ListEntry(parse_author(words[0]).hex(), kind)


def _parse_json(text: str, default: FollowKind) -> ParsedList:
    parsed = ParsedList()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        parsed.problems.append(ListProblem(exc.lineno, f"not valid JSON: {exc.msg}"))
        return parsed
    items: list[tuple[int, Any]]
    if isinstance(document, list):
        items = _array_items(text, _skip(text, 0))
    elif isinstance(document, dict) and isinstance(document.get("follows"), list):
        items = _array_items(text, _member_start(text, "follows"))
    else:
        parsed.problems.append(
            ListProblem(1, 'expected a list of authors or an object with a "follows" list')
        )
        return parsed
    for line, item in items:
        try:
            parsed.entries.append(_json_entry(item, default))
        except InvalidInput as exc:
            parsed.problems.append(ListProblem(line, str(exc)))
    return parsed


def _json_entry(item: Any, default: FollowKind) -> ListEntry:
    if isinstance(item, str):
        return ListEntry(parse_author(item).hex(), default)
    if not isinstance(item, dict) or not isinstance(item.get("author"), str):
        raise InvalidInput('expected an address or an object with an "author" string')
    kind = item.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise InvalidInput('"kind" must be a string (follow or mirror)')
    return ListEntry(
        parse_author(item["author"]).hex(), parse_kind(kind) if kind is not None else default
    )


# Locating the entries of a JSON document that json.loads already accepted, to report the line
# each one starts on (the json module gives positions only for syntax errors).

_DECODER = json.JSONDecoder()


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _array_items(text: str, start: int) -> list[tuple[int, Any]]:
    """Return ``(line, value)`` of each element of the array that begins at ``start``."""
    items: list[tuple[int, Any]] = []
    index = _skip(text, start + 1)
    if text[index] == "]":
        return items
    while True:
        value, end = _DECODER.raw_decode(text, index)
        items.append((_line_of(text, index), value))
        index = _skip(text, end)
        if text[index] == "]":
            return items
        index = _skip(text, index + 1)  # the comma


def _member_start(text: str, name: str) -> int:
    """Return where the value of the top-level object's member ``name`` begins (the last one)."""
    index = _skip(text, _skip(text, 0) + 1)
    found = -1
    while text[index] != "}":
        key, end = _DECODER.raw_decode(text, index)
        index = _skip(text, _skip(text, end) + 1)  # past the colon
        if key == name:
            found = index
        _, end = _DECODER.raw_decode(text, index)
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return found


def format_follow_list(entries: list[ListEntry], fmt: ListFormat) -> str:
    """Write ``entries`` in ``fmt`` (readable back by parse_follow_list)."""
    if fmt is ListFormat.JSON:
        lines = [
            json.dumps({"author": e.author, "kind": e.kind.value}, separators=(", ", ": "))
            for e in entries
        ]
        body = ",\n  ".join(lines)
        follows = f"[\n  {body}\n]" if lines else "[]"
        return f'{{"version": {FORMAT_VERSION}, "follows": {follows}}}\n'
    out = ["# swarmfeed follow list: an address per line, then its kind (follow or mirror)"]
    out += [f"{author_address(bytes.fromhex(e.author))} {e.kind.value}" for e in entries]
    return "\n".join(out) + "\n"

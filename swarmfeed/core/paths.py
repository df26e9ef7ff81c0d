"""Safe path components for media bundles and pages (protocol.md §4)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import TypeVar

from swarmfeed.errors import UnsafePath

MAX_COMPONENT_BYTES = 255
MAX_COMPONENTS = 8

_FORBIDDEN = {"/": "a '/'", "\\": "a '\\'", ":": "a ':'"}

P = TypeVar("P", bound=PurePath)


def check_component(part: str, field: str) -> str:
    """Return ``part`` if it is one safe path component (protocol.md §4), else raise UnsafePath."""
    if not isinstance(part, str):
        raise UnsafePath(f"{field}: path component must be text")
    if not part:
        raise UnsafePath(f"{field}: empty path component")
    if part in (".", ".."):
        raise UnsafePath(f"{field}: path component {part!r} is not allowed")
    for char in part:
        if char in _FORBIDDEN:
            raise UnsafePath(f"{field}: path component {part!r} contains {_FORBIDDEN[char]}")
        # NUL and every other control character (C0, DEL, C1) are category Cc.
        if unicodedata.category(char) == "Cc":
            raise UnsafePath(f"{field}: path component {part!r} contains a control character")
    try:
        size = len(part.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise UnsafePath(f"{field}: path component {part!r} is not valid UTF-8") from exc
    if size > MAX_COMPONENT_BYTES:
        raise UnsafePath(
            f"{field}: path component is {size} bytes, the limit is {MAX_COMPONENT_BYTES}"
        )
    return part


def check_components(parts: Sequence[str], field: str) -> tuple[str, ...]:
    """Return ``parts`` as a tuple if it is 1 to 8 safe components, else raise UnsafePath."""
    if not parts:
        raise UnsafePath(f"{field}: path has no components")
    if len(parts) > MAX_COMPONENTS:
        raise UnsafePath(
            f"{field}: path has {len(parts)} components, the limit is {MAX_COMPONENTS}"
        )
    return tuple(check_component(part, field) for part in parts)


def check_relative_path(path: str, field: str) -> tuple[str, ...]:
    """Split a "/"-separated relative path into safe components or raise UnsafePath."""
    if not isinstance(path, str):
        raise UnsafePath(f"{field}: path must be text")
    if not path:
        raise UnsafePath(f"{field}: path is empty")
    if path.startswith(("/", "\\")):
        raise UnsafePath(f"{field}: path {path!r} is absolute")
    return check_components(path.split("/"), field)


def safe_join(root: P, parts: str | Iterable[str]) -> P:
    """Join safe ``parts`` (a relative path or its components) under ``root``; raise UnsafePath."""
    components = (
        check_relative_path(parts, "path")
        if isinstance(parts, str)
        else check_components(tuple(parts), "path")
    )
    joined = root.joinpath(*components)
    # Safe components cannot climb out; check anyway so a future rule change cannot regress.
    if joined.parts[: len(root.parts)] != root.parts or len(joined.parts) != len(root.parts) + len(
        components
    ):
        raise UnsafePath(f"path {'/'.join(components)!r} escapes {str(root)!r}")
    return joined

"""Pure helpers for HTTP header values a client controls or a peer's data ends up in."""

from __future__ import annotations

import re
from urllib.parse import quote

from swarmfeed.core.media import DEFAULT_MIME
from swarmfeed.errors import InvalidInput

# RFC 6838 §4.2 restricted-name characters for type and subtype; parameters are not kept.
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}", re.ASCII)
# RFC 9110 §14.1.2: one byte range; digits are ASCII only ("\d" would also match "²").
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII)
# More digits than any file size can have: such a position is "beyond the end" (RFC 9110 §14.1.1
# lets a last-pos exceed the length), and int() of 4,300+ digits would raise.
_MAX_DIGITS = 18
_BEYOND = 10**_MAX_DIGITS
# Characters kept as they are in a redirect path (RFC 3986 pchar without "%", plus "/").
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class RangeNotSatisfiable(InvalidInput):
    """A Range that starts at or beyond the end of the file (answered with 416)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable for a file of {size} bytes")
        self.size = size


def safe_content_type(mime: str | None, default: str = DEFAULT_MIME) -> str:
    """Return ``mime`` as a bare ``type/subtype`` fit for a header, or ``default``.

    A MIME type comes from an uploading client or a peer's signed post; anything that is not a
    plain ASCII media type (non-Latin-1 characters, controls, parameters, spaces) would break
    the ``Content-Type`` header or smuggle parameters, so it becomes ``default``.
    """
    if not mime:
        return default
    candidate = mime.strip().lower()
    return candidate if _MIME.fullmatch(candidate) else default


def parse_content_length(value: str | None) -> int | None:
    """Return a ``Content-Length`` header's value, None when absent; refuse anything else."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > _MAX_DIGITS or not text.isascii() or not text.isdigit():
        raise InvalidInput("Content-Length must be a decimal byte count")
    return int(text)


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else _BEYOND


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the [start, end) byte span of a single-range ``Range`` header (RFC 9110 §14)."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise InvalidInput("unsupported Range header (one bytes=first-last range)")
    first, last = match.groups()
    if first == "" and last == "":
        raise InvalidInput("empty Range header")
    if first == "":
        start, end = max(0, size - _position(last)), size
    else:
        start = _position(first)
        end = min(size, _position(last) + 1) if last else size
    if start >= size or start >= end:
        raise RangeNotSatisfiable(size)
    return start, end


def safe_local_path(path: str | None, default: str = "/") -> str:
    """Return ``path`` as a redirect target that stays on this origin, or ``default``.

    Browsers drop tabs and newlines from URLs and treat ``\\`` like ``/``, so "/\\t/evil.com"
    or "/\\\\evil.com" would become the protocol-relative "//evil.com". Everything outside the
    RFC 3986 path and query characters is percent-encoded (non-Latin-1 text too, so the header
    can be sent; existing escapes are kept, so the function is idempotent), and the result
    always starts with exactly one "/".
    """
    if not path or not path.startswith("/") or len(path) > 2048:
        return default
    rest, _, query = path.partition("?")
    location = "/" + _escape(rest.lstrip("/\\"), _PATH_SAFE)
    if query:
        location += "?" + _escape(query, _PATH_SAFE + "?")
    return location


def _escape(text: str, safe: str) -> str:
    return _LONE_PERCENT.sub("%25", quote(text, safe=safe + "%"))

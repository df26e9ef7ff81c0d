"""How sizes, rates and counts are written for people, the same in the CLI and the web UI.

Sizes use IEC binary prefixes (1 KiB = 1024 bytes, as libtorrent counts) through ``humanize``;
the web UI's live updates (static/app.js) follow the same rules.
"""

from __future__ import annotations

import humanize

IDLE_RATE = 1024
"""Bytes/s below which a transfer counts as idle: DHT replies, keep-alives and have messages
trickle at a few bytes a second on every connected torrent and are not a download or upload."""

IDLE = "—"
"""What an idle rate is shown as."""


def format_size(count: float) -> str:
    """Return a byte count as ``300 Bytes``, ``1.5 KiB``, ``4.0 MiB``."""
    return humanize.naturalsize(int(count), binary=True, format="%.1f")


def format_rate(per_second: float) -> str:
    """Return a transfer rate as ``1.5 MiB/s``, or ``—`` when it is below ``IDLE_RATE``."""
    if per_second < IDLE_RATE:
        return IDLE
    return f"{format_size(per_second)}/s"


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """Return the noun that goes with ``count``: ``peer`` for 1, ``peers`` otherwise.

    A decimal takes the plural even when it is 1.0 ("1.0 copies").
    """
    if count == 1 and not isinstance(count, float):
        return singular
    return plural_form if plural_form is not None else f"{singular}s"


def counted(count: int, singular: str, plural_form: str | None = None) -> str:
    """Return ``count`` with its noun: ``1 peer``, ``3 peers``, ``0 copies``."""
    return f"{count} {plural(count, singular, plural_form)}"


def format_state(state: str) -> str:
    """Return a torrent state as words: ``downloading_metadata`` -> ``downloading metadata``."""
    return state.replace("_", " ")


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


def parse_size(text: str | int) -> int:
    """Parse a byte count written as ``1073741824``, ``512 MiB``, ``50GB`` or ``1.5 TiB``.

    Raises ValueError for anything else (negative, unknown unit, not a number).
    """
    if isinstance(text, int):
        if text < 0:
            raise ValueError("a size cannot be negative")
        return text
    value = text.strip().replace("_", "")
    number = value.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
    unit = value[len(number) :].strip().lower()
    if unit not in _SIZE_UNITS or not number or len(number) > 24:
        raise ValueError(f"not a size: {text!r} (e.g. 1073741824, 512 MiB, 50 GB)")
    try:
        amount = float(number) if "." in number else int(number)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (e.g. 1073741824, 512 MiB, 50 GB)") from None
    if amount < 0:
        raise ValueError("a size cannot be negative")
    return int(amount * _SIZE_UNITS[unit])

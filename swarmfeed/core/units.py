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

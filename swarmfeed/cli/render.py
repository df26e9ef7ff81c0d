"""What the CLI prints, as pure functions of the API's JSON (sizes and rates as in the web UI)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from swarmfeed.core.units import counted, format_rate, format_size, format_state


def printable(text: str, *, newlines: bool = False) -> str:
    """Return peer-supplied ``text`` safe for a terminal: control characters become ``�``.

    Names, post text and file names come from other people's signed feeds; an escape sequence
    in them must not reach the terminal (it could move the cursor, retitle the window, ...).
    """
    return "".join(
        char
        if (newlines and char == "\n") or unicodedata.category(char) not in ("Cc", "Cf")
        else "\ufffd"
        for char in text
    )


def transfer_figures(row: dict[str, Any]) -> tuple[str, str, str]:
    """Return what a --watch line shows: sizes done/wanted, download and upload rate."""
    return (
        f"{format_size(row['total_done'])} / {format_size(row['total_wanted'])}",
        format_rate(row["download_rate"]),
        format_rate(row["upload_rate"]),
    )


def status_text(info: dict[str, Any], url: str) -> str:
    """Return ``swarmfeed status`` output: the full address, then the figures in words."""
    fields = [
        ("author", info["address"]),
        ("node", url),
        ("DHT", counted(info["dht_nodes"], "node")),
        ("torrents", f"{info['torrents']} ({info['seeding']} seeding)"),
        ("peers", str(info["peers"])),
        ("following", counted(info["follows"], "author")),
        ("own posts", str(info["posts"])),
        ("uploaded", f"{format_size(info['bytes_up'])}  (now {format_rate(info['upload_rate'])})"),
        (
            "downloaded",
            f"{format_size(info['bytes_down'])}  (now {format_rate(info['download_rate'])})",
        ),
    ]
    if info.get("restoring"):
        fields.append(("restoring", f"{info.get('restored', 0)} of {info.get('to_restore', 0)}"))
    reach = info.get("reachability")
    if reach:
        fields.append(("reachable", reach["summary"]))
        fields += [("what to do", tip) for tip in reach["advice"]]
    width = max(len(key) for key, _ in fields)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in fields)


def torrents_text(rows: list[dict[str, Any]], total: int | None = None) -> str:
    """Return the ``swarmfeed torrents`` listing: each torrent's name, then state and traffic.

    Lines per torrent rather than a table, so nothing is cut at any terminal width; the last
    names its infohash (for ``swarmfeed torrent export``). Rows come in the node's order
    (transfers in progress first, then the most served); ``total`` is how many the node holds.
    """
    lines = []
    for row in rows:
        state = format_state(row["state"])
        if not row["seeding"]:
            state += f" {row['progress'] * 100:.0f}%"
        figures = [
            state,
            format_size(row["total_wanted"]),
            counted(row["peers"], "peer"),
            f"↓ {format_rate(row['download_rate'])}",
            f"↑ {format_rate(row['upload_rate'])}",
            f"served {format_size(row['total_upload'])}",
        ]
        lines += [f"{printable(row['label'])} ({row['kind']})", f"  {' · '.join(figures)}"]
        if row.get("infohash"):
            lines.append(f"  infohash {row['infohash']}")
    if total is not None and total > len(rows):
        more = total - len(rows)
        lines.append(f"… and {more} more of {counted(total, 'torrent')} (--limit shows more)")
    return "\n".join(lines) if lines else "no torrents yet"


_ATTACHMENT = re.compile(r'filename="([A-Za-z0-9._-]{1,120}\.torrent)"')


def export_filename(disposition: str | None, infohash: str) -> str:
    """Return the file name a .torrent export is saved under when no -o is given.

    The node suggests one in ``Content-Disposition``; only a plain name (letters, digits,
    ``._-``, ending in .torrent, never a path) is taken, otherwise ``<infohash>.torrent``.
    """
    match = _ATTACHMENT.search(disposition or "")
    name = match.group(1) if match else ""
    return name if name and not name.startswith(".") else f"{infohash.lower()}.torrent"

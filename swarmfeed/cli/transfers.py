"""``swarmfeed torrents --watch``: live progress bars of the transfers in progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Column

from swarmfeed.cli.client import ApiClient
from swarmfeed.cli.render import printable, transfer_figures

Row = dict[str, Any]


def in_progress(row: Row) -> bool:
    """Return True while a torrent still has wanted bytes to download (as the node judges)."""
    return not row["seeding"] and row["progress"] < 1.0


class TransferWatch:
    """Follows the node's transfers in progress until each is done or gone.

    Each round reads one bounded page of active torrents; a followed torrent that left it
    (finished, removed, or pushed past the page) is asked for by infohash, so its bar ends
    where the torrent ended.
    """

    def __init__(self, client: ApiClient, bar: Progress) -> None:
        self.client = client
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}
        self.following: set[str] = set()

    def round(self, rows: list[Row]) -> bool:
        """Show the transfers in ``rows`` and the followed ones that left them.

        Return True while any is in progress.
        """
        current = {row["infohash"]: row for row in rows if in_progress(row)}
        for infohash in self.following - current.keys():
            row = self.client.find(f"/api/torrents/{infohash}")
            if row is None:  # removed (unfollowed, pruned): no bar for what is not there
                self.bar.remove_task(self.tasks.pop(infohash))
            else:
                current[infohash] = row
        self.following = {ih for ih, row in current.items() if in_progress(row)}
        for row in current.values():
            self.show(row)
        return bool(self.following)

    def show(self, row: Row) -> None:
        """Add or update the bar of one torrent."""
        sizes, down, up = transfer_figures(row)
        task = self.tasks.get(row["infohash"])
        if task is None:
            task = self.bar.add_task(printable(row["label"]), total=None, sizes="", down="", up="")
            self.tasks[row["infohash"]] = task
        self.bar.update(
            task,
            completed=row["total_done"],
            total=row["total_wanted"] or None,
            sizes=sizes,
            down=down,
            up=up,
        )


def active_rows(client: ApiClient, limit: int) -> list[Row]:
    """Return up to ``limit`` of the node's active torrents, transfers in progress first."""
    rows: list[Row] = client.get("/api/torrents", active="true", limit=limit)
    return rows


def watch_transfers(
    client: ApiClient, limit: int, console: Console, pause: Callable[[float], None] = time.sleep
) -> int:
    """Show live bars of up to ``limit`` transfers in progress until they are done.

    Return how many were shown (0: nothing was in progress).
    """
    rows = active_rows(client, limit)
    if not any(in_progress(row) for row in rows):
        return 0
    with Progress(
        TextColumn("{task.description}", markup=False, table_column=Column(ratio=2, no_wrap=True)),
        BarColumn(),
        TextColumn("{task.fields[sizes]}", justify="right"),
        TextColumn("↓ {task.fields[down]}", justify="right"),
        TextColumn("↑ {task.fields[up]}", justify="right"),
        console=console,
    ) as bar:
        watch = TransferWatch(client, bar)
        while watch.round(rows):
            pause(1.0)  # the node's rates are one-second averages
            rows = active_rows(client, limit)
    return len(watch.tasks)

"""Commands for operators: mirror, unmirror, follows (list, import, export), health."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from swarmfeed.cli.client import ApiError
from swarmfeed.cli.common import (
    api_option,
    client_for,
    console,
    err_console,
    home_option,
    http_option,
    stop,
)
from swarmfeed.cli.exits import ExitCode
from swarmfeed.cli.render import printable
from swarmfeed.core.followfile import FollowKind, ListFormat, parse_follow_list
from swarmfeed.errors import SwarmfeedError


@click.command()
@home_option
@http_option
@api_option
def health(home: Path, http: str | None, api: str | None) -> None:
    """Check the running node for a probe: exit 0 when healthy, 1 with the reason when not."""
    try:
        client = client_for(home, http, api)
        verdict = client.request("GET", "/api/health", expect=(200, 503))
    except (ApiError, SwarmfeedError) as exc:
        stop(f"unhealthy: {exc}", ExitCode.FAILURE)
    if not verdict["ok"]:
        stop("unhealthy: " + "; ".join(verdict["reasons"]), ExitCode.FAILURE)
    click.echo(f"healthy (up {verdict['uptime']:.0f} s)")


@click.command()
@home_option
@http_option
@api_option
@click.argument("addresses", nargs=-1, required=True)
def mirror(home: Path, http: str | None, api: str | None, addresses: tuple[str, ...]) -> None:
    """Mirror authors: keep every page and bundle, newest first, never evicted.

    An author already followed becomes a mirror. `swarmfeed unmirror` makes it a plain follow.
    """
    client = client_for(home, http, api)
    failed = False
    for address in addresses:
        try:
            row = client.request("POST", "/api/mirrors", json={"author": address})
        except ApiError as exc:
            err_console.print(f"{printable(address)}: {exc}", markup=False, highlight=False)
            failed = True
            continue
        console.print(f"mirroring {row['address']} ({row['state']})", highlight=False)
    if failed:
        sys.exit(int(ExitCode.FAILURE))


@click.command()
@home_option
@http_option
@api_option
@click.argument("address")
def unmirror(home: Path, http: str | None, api: str | None, address: str) -> None:
    """Stop mirroring an author; it stays followed, its media held to the budgets."""
    try:
        from swarmfeed.core.identity import parse_author

        key = parse_author(address).hex()
        client_for(home, http, api).request("DELETE", f"/api/mirrors/{key}")
    except (ApiError, SwarmfeedError) as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"{key} is followed, no longer mirrored")


@click.group(invoke_without_command=True)
@home_option
@http_option
@api_option
@click.pass_context
def follows(ctx: click.Context, home: Path, http: str | None, api: str | None) -> None:
    """List followed authors with their kind and sync state (or import/export the list)."""
    ctx.obj = (home, http, api)
    if ctx.invoked_subcommand is not None:
        return
    try:
        rows = client_for(home, http, api).get("/api/follows")
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    table = Table("author", "name", "kind", "state", "delivery", "seq", "posts", "last error")
    for row in rows:
        live = row.get("live") and f"live, {row.get('path_length')} hops"
        table.add_row(
            row["author"][:16],
            escape(printable(row["name"] or "")),
            row["kind"],
            row["state"],
            live or "polled",
            str(row["last_seen_seq"] or "-"),
            str(row["posts"]),
            escape(printable(row["last_error"] or "")),
        )
    console.print(table)


IMPORT_BATCH = 500


@follows.command(name="import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--kind",
    type=click.Choice([k.value for k in FollowKind]),
    default=FollowKind.FOLLOW.value,
    show_default=True,
    help="Kind of the entries that name none.",
)
@click.pass_obj
def import_follows(obj: tuple[Path, str | None, str | None], file: Any, kind: str) -> None:
    """Follow or mirror every author listed in FILE ('-': standard input).

    One address (or 64 hex digits) per line, optionally followed by `follow` or `mirror`, or
    the JSON of `swarmfeed follows export --format json`. Bad lines are reported with their
    line numbers and the rest is imported; the exit code is 1 when any line was bad.
    """
    home, http, api = obj
    try:
        parsed = parse_follow_list(file.read(), FollowKind(kind))
    except SwarmfeedError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in parsed.problems:
        err_console.print(
            f"{file.name}:{problem.line}: {printable(problem.reason)}",
            markup=False,
            highlight=False,
        )
    client = client_for(home, http, api)
    totals = {"added": 0, "changed": 0, "unchanged": 0}
    refused = 0
    entries = [{"author": e.author, "kind": e.kind.value} for e in parsed.entries]
    for start in range(0, len(entries), IMPORT_BATCH):
        try:
            result = client.request(
                "POST",
                "/api/follows/import",
                json={"entries": entries[start : start + IMPORT_BATCH]},
            )
        except ApiError as exc:
            raise click.ClickException(str(exc)) from exc
        for key in totals:
            totals[key] += int(result[key])
        for item in result["refused"]:
            refused += 1
            err_console.print(
                f"{printable(item['author'])}: {printable(item['reason'])}",
                markup=False,
                highlight=False,
            )
    console.print(
        f"imported {len(parsed.entries)} authors: {totals['added']} new, "
        f"{totals['changed']} changed kind, {totals['unchanged']} unchanged"
        + (f"; {len(parsed.problems)} bad lines skipped" if parsed.problems else ""),
        highlight=False,
    )
    if parsed.problems or refused:
        sys.exit(int(ExitCode.FAILURE))


@follows.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in ListFormat]),
    default=ListFormat.LINES.value,
    show_default=True,
)
@click.pass_obj
def export_follows(obj: tuple[Path, str | None, str | None], fmt: str) -> None:
    """Print the follow list (authors and kinds) for `swarmfeed follows import` elsewhere."""
    home, http, api = obj
    try:
        text = client_for(home, http, api).text("/api/follows/export", format=fmt)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(text, nl=False)

"""``swarmfeed``: init, node, health, id, post, follow, unfollow, mirror, unmirror, follows
(import, export), timeline, status, torrents, torrent export, demo."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from swarmfeed.cli import operators, social
from swarmfeed.cli.client import ApiClient, ApiError
from swarmfeed.cli.common import (
    api_option,
    client_for,
    console,
    describe,
    err_console,
    home_option,
    http_option,
    stop,
)
from swarmfeed.cli.exits import ExitCode, exit_code_for
from swarmfeed.cli.render import (
    export_filename,
    printable,
    status_text,
    torrents_text,
)
from swarmfeed.cli.transfers import watch_transfers
from swarmfeed.core.identity import author_address
from swarmfeed.core.policy import SeedPolicy
from swarmfeed.core.units import format_state
from swarmfeed.errors import SwarmfeedError
from swarmfeed.node.config import Settings
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.listing import MAX_LIMIT, TOTAL_HEADER
from swarmfeed.store import keystore

TORRENTS_SHOWN = 50
"""Torrents ``swarmfeed torrents`` lists unless given --limit (it says how many more exist)."""


def _passphrase(prompt: bool) -> str | None:
    env = os.environ.get("SWARMFEED_PASSPHRASE")
    if env is not None:
        return env
    if prompt:
        return str(click.prompt("Passphrase", hide_input=True, confirmation_prompt=True))
    return None


@click.group()
@click.version_option(package_name="swarmfeed")
def main() -> None:
    """swarmfeed: signed feeds as torrents, found through the DHT, seeded by every follower."""


@main.command()
@home_option
@click.option("--passphrase/--no-passphrase", default=False, help="Seal the key with a passphrase.")
def init(home: Path, passphrase: bool) -> None:
    """Create this node's identity (an ed25519 key) and print its author address."""
    path = HomeLayout(home).key_file
    if path.exists():
        raise click.ClickException(f"{path} already exists; `swarmfeed id` shows its address")
    keys, _ = keystore.load_or_create(path, _passphrase(passphrase))
    console.print(f"created {path}")
    console.print(author_address(keys.public_key))


@main.command(name="id")
@home_option
@http_option
@api_option
def show_id(home: Path, http: str | None, api: str | None) -> None:
    """Print the running node's author address (BEP 46 magnet link).

    With no node answering, print the address of the key in --home instead (and say so).
    """
    client = client_for(home, http, api)
    try:
        address = str(client.get("/api/status")["address"])
    except ApiError as exc:
        if exc.status not in (None, 404):  # a node answered but refused (e.g. a token is needed)
            raise click.ClickException(f"the node at {client.base_url} refused: {exc}") from exc
    else:
        err_console.print(f"author address of the node running at {client.base_url}:")
        click.echo(address)
        return
    path = HomeLayout(home).key_file
    if not path.exists():
        raise click.ClickException(
            f"no node answers at {client.base_url} and there is no identity in {home}. "
            "Point the CLI at your node (--api URL or SWARMFEED_API, or --http IP:PORT), "
            "or create an identity with `swarmfeed init` (`swarmfeed node` also creates one)."
        )
    err_console.print(f"no node answers at {client.base_url}; the identity in {path}:")
    try:
        try:
            keys = keystore.load_keys(path, os.environ.get("SWARMFEED_PASSPHRASE"))
        except keystore.PassphraseRequired:
            keys = keystore.load_keys(path, click.prompt("Passphrase", hide_input=True))
    except SwarmfeedError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(author_address(keys.public_key))


@main.command()
@home_option
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--listen", default=None, help="BitTorrent/DHT address IP:PORT.")
@click.option("--http", default=None, help="API and web UI address IP:PORT [127.0.0.1:8080].")
@click.option("--bootstrap", multiple=True, help="DHT bootstrap node HOST:PORT (repeatable).")
@click.option(
    "--no-public-dht",
    "no_public_dht",
    is_flag=True,
    default=None,
    help="Do not join the public DHT; use only --bootstrap nodes (private swarm).",
)
@click.option("--poll-interval", type=float, default=None, help="Seconds between head polls.")
@click.option("--republish-interval", type=float, default=None, help="Seconds between re-puts.")
@click.option("--upload-rate", "upload_rate_limit", type=int, default=None, help="Bytes/s cap.")
@click.option("--download-rate", "download_rate_limit", type=int, default=None, help="Bytes/s cap.")
@click.option(
    "--rate-limit-local",
    "rate_limit_local_peers",
    is_flag=True,
    default=None,
    help="Apply rate limits to loopback/LAN peers too (benchmarks).",
)
@click.option(
    "--seed-policy",
    "seed_policy",
    type=click.Choice([policy.value for policy in SeedPolicy]),
    default=None,
    help="Seeding policy [adaptive] (docs/performance.md).",
)
@click.option("--name", "profile_name", default=None, help="Display name published with posts.")
@click.option(
    "--max-upload",
    "max_upload_bytes",
    type=int,
    default=None,
    help="Largest total size of a post's files, in bytes [2 GiB].",
)
@click.option(
    "--require-token",
    "require_token",
    is_flag=True,
    default=None,
    help="Require the web UI access token even on loopback.",
)
@click.option(
    "--push-port",
    "push_port",
    type=click.IntRange(0, 65535),
    default=None,
    help="UDP port of the push channel [BitTorrent port + 1; 0: any].",
)
@click.option(
    "--storage-budget",
    "storage_budget_bytes",
    default=None,
    help="Media bytes held in all, e.g. 500GiB (followed media is evicted to stay within).",
)
@click.option(
    "--author-budget",
    "author_fetch_bytes",
    default=None,
    help="Media bytes held per followed author [2 GiB].",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxy",
    multiple=True,
    help="Reverse proxy address or network whose X-Forwarded-* headers count (repeatable).",
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None)
@click.option("--log-level", default=None)
def node(
    home: Path,
    config: Path | None,
    bootstrap: tuple[str, ...],
    no_public_dht: bool | None,
    trusted_proxy: tuple[str, ...],
    **flags: Any,
) -> None:
    """Run the node: libtorrent session, DHT, follower sync, API and web UI.

    Every option is also a SWARMFEED_* environment variable or a key of config.toml. The exit
    code says why it stopped (docs/operators.md): 0 after SIGTERM/SIGINT, 65 unreadable data,
    69 an address in use, 73 data directory not writable, 77 passphrase missing or wrong,
    78 invalid settings, 1 an internal error.
    """
    from swarmfeed.node.node import Node
    from swarmfeed.server.logs import configure_logging
    from swarmfeed.server.runner import run_node

    try:
        settings = Settings.load(
            config,
            home=home,
            bootstrap=list(bootstrap) or None,
            public_dht=False if no_public_dht else None,
            trusted_proxies=list(trusted_proxy) or None,
            **flags,
        )
    except SwarmfeedError as exc:
        stop(str(exc), ExitCode.CONFIG)
    try:
        configure_logging(settings)
        passphrase = os.environ.get("SWARMFEED_PASSPHRASE")
        try:
            built = Node.from_settings(settings, passphrase)
        except keystore.PassphraseRequired:
            if passphrase is not None or not sys.stdin.isatty():
                raise
            built = Node.from_settings(settings, click.prompt("Passphrase", hide_input=True))
    except (SwarmfeedError, OSError) as exc:
        stop(describe(exc, home), exit_code_for(exc))

    def ready(running: Node) -> None:
        host, port = settings.http_endpoint
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        url = f"http://{shown}:{port}/"
        if settings.log_format == "json":
            logging.getLogger("swarmfeed.cli").info(
                "author %s; web UI and API at %s (access token in %s)",
                running.address,
                url,
                running.layout.home / "web_token" if running.web_token else "none needed",
            )
            return
        if running.web_token:
            url += f"?token={running.web_token}"
        err_console.print(f"[bold]swarmfeed[/] author {running.address}")
        err_console.print(f"web UI and API: {url}  (API schema at /openapi.json)")
        if running.web_token:
            err_console.print(f"access token (also in {running.layout.home / 'web_token'}):")
            err_console.print(running.web_token, markup=False)

    try:
        asyncio.run(run_node(built, ready))
    except (SwarmfeedError, OSError) as exc:
        logging.getLogger("swarmfeed.cli").error("the node stopped: %s", describe(exc, home))
        stop(describe(exc, home), exit_code_for(exc))


@main.command()
@home_option
@http_option
@api_option
@click.argument("text", default="")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Attach a media file (repeatable).",
)
def post(home: Path, http: str | None, api: str | None, text: str, files: tuple[Path, ...]) -> None:
    """Publish a post with optional media files; shows hashing progress."""
    client = client_for(home, http, api)
    upload_id = uuid.uuid4().hex
    result: dict[str, Any] = {}

    def send() -> None:
        try:
            result["post"] = client.post_multipart(
                "/api/posts",
                {"text": text, "upload_id": upload_id},
                [("files", path) for path in files],
                timeout=3600,
            )
        except ApiError as exc:
            result["error"] = exc

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    if files:
        _show_hashing(client, upload_id, sender)
    sender.join()
    if "error" in result:
        raise click.ClickException(str(result["error"]))
    created = result["post"]
    console.print(f"posted [bold]{created['id']}[/] (seq {created['seq']})")
    if created.get("media"):
        console.print(f"media: {created['media']['magnet']}")


def _show_hashing(client: ApiClient, upload_id: str, sender: threading.Thread) -> None:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("uploading", total=None)
        while sender.is_alive():
            try:
                state = client.get(f"/api/uploads/{upload_id}")
            except ApiError:
                state = None
            if state and state["phase"] == "hashing":
                bar.update(
                    task,
                    description="hashing media",
                    total=state["total"] or None,
                    completed=state["done"],
                )
            sender.join(timeout=0.2)


@main.command()
@home_option
@http_option
@api_option
@click.argument("address")
def follow(home: Path, http: str | None, api: str | None, address: str) -> None:
    """Follow an author by BEP 46 address or hex key; its feed is fetched and seeded."""
    try:
        row = client_for(home, http, api).request("POST", "/api/follows", json={"author": address})
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"following {row['address']} ({row['state']})")


@main.command()
@home_option
@http_option
@api_option
@click.argument("address")
def unfollow(home: Path, http: str | None, api: str | None, address: str) -> None:
    """Stop following an author and stop seeding its data."""
    try:
        from swarmfeed.core.identity import parse_author

        key = parse_author(address).hex()
        client_for(home, http, api).request("DELETE", f"/api/follows/{key}")
    except (ApiError, SwarmfeedError) as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"unfollowed {key}")


@main.command()
@home_option
@http_option
@api_option
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
def timeline(home: Path, http: str | None, api: str | None, limit: int) -> None:
    """Show own and followed posts, newest first."""
    try:
        page = client_for(home, http, api).get("/api/timeline", limit=limit)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    if not page["posts"]:
        console.print("no posts yet")
    for item in page["posts"]:
        when = dt.datetime.fromtimestamp(item["created"]).strftime("%Y-%m-%d %H:%M")
        who = item["author_name"] or item["author"][:16]
        mark = "✓" if item["verified"] else "✗"
        console.print(
            f"[bold]{escape(printable(who))}[/] {when} #{item['seq']} {mark}", highlight=False
        )
        console.print(printable(item["text"], newlines=True), markup=False, highlight=False)
        media = item["media"]
        if media:
            names = ", ".join(f["path"] for f in media["files"])
            console.print(
                f"  media: {escape(printable(names))} — {format_state(media['state'])} "
                f"{media['progress'] * 100:.0f}%",
                highlight=False,
            )
        console.print()


@main.command()
@home_option
@http_option
@api_option
def status(home: Path, http: str | None, api: str | None) -> None:
    """Show the node's author address, DHT nodes, torrents, peers and traffic."""
    client = client_for(home, http, api)
    try:
        info = client.get("/api/status")
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(status_text(info, client.base_url))


@main.command()
@home_option
@http_option
@api_option
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=TORRENTS_SHOWN,
    show_default=True,
    help="Show at most this many: transfers in progress first, then the most served.",
)
@click.option(
    "--watch", is_flag=True, help="Show live progress bars of the transfers in progress until done."
)
def torrents(home: Path, http: str | None, api: str | None, limit: int, watch: bool) -> None:
    """List the torrents this node seeds and downloads (live progress with --watch)."""
    client = client_for(home, http, api)
    try:
        if watch:
            if not watch_transfers(client, limit, err_console):
                click.echo("no transfers in progress")
            return
        rows, headers = client.get_with_headers("/api/torrents", limit=limit)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(torrents_text(rows, total=int(headers.get(TOTAL_HEADER, len(rows)))))


@main.group()
def torrent() -> None:
    """Work with the torrents the node holds as other BitTorrent clients see them."""


@torrent.command(name="export")
@home_option
@http_option
@api_option
@click.argument("infohash")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="Where to write the .torrent file ('-' for stdout) [the name the node suggests].",
)
def torrent_export(
    home: Path, http: str | None, api: str | None, infohash: str, output: Path | None
) -> None:
    """Save a torrent the node holds as a .torrent file (v1+v2 with piece layers for media).

    INFOHASH is the v1 infohash (40 hex digits: the btih of a post's magnet link, or a
    torrent's row in the web UI's Swarm page). Any BitTorrent client can open the file
    (docs/clients.md).
    """
    infohash = infohash.strip().lower()
    if len(infohash) != 40 or any(c not in "0123456789abcdef" for c in infohash):
        raise click.BadParameter("a v1 infohash is 40 hex digits", param_hint="INFOHASH")
    try:
        data, headers = client_for(home, http, api).download(f"/api/torrents/{infohash}.torrent")
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    if output is not None and str(output) == "-":
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    target = output or Path(export_filename(headers.get("content-disposition"), infohash))
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"{target}: {exc.strerror}") from exc
    err_console.print(f"wrote {len(data)} bytes to", markup=False, end=" ")
    click.echo(str(target))


@main.command()
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the demo nodes (default: a temporary one).",
)
@click.option("--http", default="127.0.0.1:8080", show_default=True)
@click.option("--creators", type=click.IntRange(1, 5), default=3, show_default=True)
@click.option(
    "--clip-seconds",
    type=click.FloatRange(2, 600),
    default=24.0,
    show_default=True,
    help="Length of the sample video clip.",
)
def demo(home: Path | None, http: str, creators: int, clip_seconds: float) -> None:
    """Run a private loopback swarm: your node plus sample creators posting generated media."""
    from swarmfeed.demo.scenario import run_demo

    run_demo(home, http, creators, clip_seconds)


for command in (operators.health, operators.mirror, operators.unmirror, operators.follows):
    main.add_command(command)
for command in social.COMMANDS:
    main.add_command(command)

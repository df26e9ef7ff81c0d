"""Social commands: reply, repost, like, delete, profile, block and notifications."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from swarmfeed.cli.client import ApiError
from swarmfeed.cli.common import api_option, client_for, console, home_option, http_option
from swarmfeed.cli.render import printable
from swarmfeed.errors import SwarmfeedError


def _call(home: Path, http: str | None, api: str | None, method: str, path: str, **kw: Any) -> Any:
    try:
        return client_for(home, http, api).request(method, path, **kw)
    except (ApiError, SwarmfeedError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@home_option
@http_option
@api_option
@click.argument("post_id")
@click.argument("text")
def reply(home: Path, http: str | None, api: str | None, post_id: str, text: str) -> None:
    """Reply to a post (its author is told, even one that does not follow you)."""
    data = {"text": text, "reply_to": post_id}
    created = _call(home, http, api, "POST", "/api/posts", data=data)
    console.print(f"replied [bold]{created['id']}[/] (seq {created['seq']})")


@click.command()
@home_option
@http_option
@api_option
@click.argument("post_id")
@click.option("--quote", default="", help="Text of your own: a quote instead of a plain repost.")
def repost(home: Path, http: str | None, api: str | None, post_id: str, quote: str) -> None:
    """Repost a post to your followers; they fetch and seed its media too."""
    data = {"text": quote, "repost_of": post_id}
    created = _call(home, http, api, "POST", "/api/posts", data=data)
    console.print(f"reposted [bold]{created['id']}[/] (seq {created['seq']})")


@click.command()
@home_option
@http_option
@api_option
@click.argument("post_id")
def like(home: Path, http: str | None, api: str | None, post_id: str) -> None:
    """Like a post: sealed so that only its author sees who liked it."""
    entry = _call(home, http, api, "POST", f"/api/posts/{post_id}/like")
    console.print(f"liked {entry['post_id']} (entry {entry['entry_id'][:16]}, seq {entry['seq']})")


@click.command()
@home_option
@http_option
@api_option
@click.argument("post_id")
def delete(home: Path, http: str | None, api: str | None, post_id: str) -> None:
    """Delete one of your posts (or unlike a post you liked); followers remove it too."""
    entry = _call(home, http, api, "DELETE", f"/api/posts/{post_id}")
    console.print(f"deleted {entry['post_id']} (tombstone seq {entry['seq']})")


@click.command()
@home_option
@http_option
@api_option
@click.option("--name", required=True, help="Display name (up to 64 bytes).")
@click.option("--bio", default="", help="A few words about you (up to 512 bytes).")
@click.option("--link", "links", multiple=True, help="A link (repeatable, up to 8).")
@click.option("--pay-kind", default="", help="Kind of payment address: lightning, iban, ...")
@click.option("--pay-address", default="", help="Where people can send you money.")
@click.option(
    "--avatar",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="An image file.",
)
def profile(
    home: Path,
    http: str | None,
    api: str | None,
    name: str,
    bio: str,
    links: tuple[str, ...],
    pay_kind: str,
    pay_address: str,
    avatar: Path | None,
) -> None:
    """Publish your profile; the newest one wins everywhere."""
    data = {
        "name": name,
        "bio": bio,
        "links": "\n".join(links),
        "pay_kind": pay_kind,
        "pay_address": pay_address,
    }
    if avatar is None:
        shown = _call(home, http, api, "PUT", "/api/profile", data=data, files=[])
    else:
        with avatar.open("rb") as handle:
            files = [("avatar", (avatar.name, handle))]
            shown = _call(home, http, api, "PUT", "/api/profile", data=data, files=files)
    console.print(f"profile published: {escape(printable(shown['name']))}", highlight=False)


@click.command()
@home_option
@http_option
@api_option
@click.argument("address", required=False)
@click.option("--mute", is_flag=True, help="Only hide the author (still followed).")
@click.option("--remove", is_flag=True, help="Neither block nor mute the author any more.")
def block(
    home: Path, http: str | None, api: str | None, address: str | None, mute: bool, remove: bool
) -> None:
    """Block an author (nothing of theirs fetched, seeded or shown); without one, list blocks."""
    if address is None:
        rows = _call(home, http, api, "GET", "/api/blocks")
        if not rows:
            console.print("nobody is blocked or muted")
        for row in rows:
            console.print(f"{row['kind']:5} {row['author']}")
        return
    if remove:
        key = _call(home, http, api, "GET", f"/api/profiles/{address}")["author"]
        _call(home, http, api, "DELETE", f"/api/blocks/{key}")
        console.print(f"unblocked {key}")
        return
    body = {"author": address, "kind": "mute" if mute else "block"}
    row = _call(home, http, api, "POST", "/api/blocks", json=body)
    console.print(f"{'muted' if mute else 'blocked'} {row['author']}")


@click.command()
@home_option
@http_option
@api_option
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option("--read", "mark_read", is_flag=True, help="Mark them read afterwards.")
def notifications(
    home: Path, http: str | None, api: str | None, limit: int, mark_read: bool
) -> None:
    """Show replies, reposts, mentions and likes of your posts, newest first."""
    page = _call(home, http, api, "GET", "/api/notifications", params={"limit": limit})
    console.print(f"{page['unread']} unread")
    for item in page["notifications"]:
        when = dt.datetime.fromtimestamp(item["received"]).strftime("%Y-%m-%d %H:%M")
        who = item["sender_name"] or item["sender"][:16]
        mark = " " if item["read"] else "*"
        console.print(
            f"{mark} {when} {escape(printable(who))} {item['kind']} {item['post_id'][:16]}",
            highlight=False,
        )
    if mark_read:
        _call(home, http, api, "POST", "/api/notifications/read", json={})


COMMANDS = (reply, repost, like, delete, profile, block, notifications)

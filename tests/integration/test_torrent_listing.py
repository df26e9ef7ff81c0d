"""Listing what a node holds a page at a time: GET /api/torrents, /api/torrents/{ih}, /swarm,
and ``swarmfeed torrents --watch`` following a transfer until it is done.

One in-process node with a real libtorrent session on 127.0.9.1 (private DHT) holds a few
seeded torrents and one whose data is missing (a transfer in progress); the HTTP app is driven
in-process through httpx's ASGI transport, or served on loopback for the CLI. A seeder engine
on 127.0.9.2 completes the missing torrent.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result
from nodekit import make_node
from starlette.types import ASGIApp, Receive, Scope, Send

from swarmfeed.cli.main import main
from swarmfeed.core.units import format_size
from swarmfeed.engine.creator import create_torrent
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.localswarm import free_port
from swarmfeed.node.node import Node
from swarmfeed.server.app import create_app
from swarmfeed.store.database import TorrentRow

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

IP = "127.0.9.1"
SEEDER_IP = "127.0.9.2"
SEEDED = 5
MISSING = b"m" * 40000
TIMEOUT = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Held:
    node: Node
    http: httpx.AsyncClient
    seeded: list[str]
    missing: str


async def add(node: Node, folder: Path, data: bytes, *, seed: bool) -> str:
    """Add a one-file v1 torrent of ``data``; its file is left out when not ``seed``."""
    folder.mkdir(parents=True)
    path = folder / "data.bin"
    path.write_bytes(data)
    created = await asyncio.to_thread(create_torrent, path, v1_only=True, piece_size=16384)
    if not seed:
        path.unlink()
    ih = await node.engine.add_torrent(created.torrent, folder, seed_mode=seed)
    if seed:
        await node.engine.wait_finished(ih, TIMEOUT)
    node.engine.status(ih)  # asked of libtorrent now: in the status cache listings read
    return ih


@pytest.fixture
async def held(tmp_path: Path) -> AsyncIterator[Held]:
    state = Held()
    state.node = make_node(tmp_path, "box", IP, [])
    await state.node.start()
    try:
        root = tmp_path / "data"
        state.seeded = [
            await add(state.node, root / f"s{n}", bytes([n]) * 20000, seed=True)
            for n in range(SEEDED)
        ]
        state.missing = await add(state.node, root / "missing", MISSING, seed=False)
        # One torrent swarmfeed knows: its row names it as the node's own feed page.
        state.node.db.torrents.add(TorrentRow(state.seeded[0], "page", state.node.author, None), 0)
        transport = httpx.ASGITransport(app=create_app(state.node))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{IP}") as http:
            state.http = http
            yield state
    finally:
        await state.node.stop()


async def test_pages_of_the_listing_in_order_with_the_total(held: Held) -> None:
    everything = await held.http.get("/api/torrents")
    assert everything.status_code == 200
    assert everything.headers["X-Total-Count"] == str(SEEDED + 1)
    rows = everything.json()
    # The transfer in progress first; nothing served yet, so the rest by infohash.
    assert [r["infohash"] for r in rows] == [held.missing, *sorted(held.seeded)]
    assert rows[0]["seeding"] is False and rows[0]["progress"] < 1

    pages = []
    for offset in range(0, SEEDED + 1, 4):
        page = await held.http.get("/api/torrents", params={"limit": 4, "offset": offset})
        assert page.headers["X-Total-Count"] == str(SEEDED + 1)
        assert len(page.json()) == min(4, SEEDED + 1 - offset)
        pages += page.json()
    assert [r["infohash"] for r in pages] == [r["infohash"] for r in rows]
    past = await held.http.get("/api/torrents", params={"offset": 50})
    assert past.json() == [] and past.headers["X-Total-Count"] == str(SEEDED + 1)


async def test_active_lists_the_transfers_in_progress(held: Held) -> None:
    active = await held.http.get("/api/torrents", params={"active": "true"})

    assert [r["infohash"] for r in active.json()] == [held.missing]
    assert active.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"limit": 1001}, "less than or equal to 1000"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"offset": -1}, "greater than or equal to 0"),
        ({"limit": "all"}, "valid integer"),
    ],
)
async def test_out_of_range_pages_are_refused(
    held: Held, params: dict[str, object], complaint: str
) -> None:
    refused = await held.http.get("/api/torrents", params=params)

    assert refused.status_code == 422
    assert complaint in refused.json()["detail"]


async def test_one_torrents_row_by_infohash(held: Held) -> None:
    own_page = held.seeded[0]
    one = await held.http.get(f"/api/torrents/{own_page.upper()}")
    assert one.status_code == 200
    row = one.json()
    assert row["infohash"] == own_page
    assert row["kind"] == "page" and row["label"].startswith("feed page of ")
    assert row["seeding"] is True
    assert row["magnet"].startswith(f"magnet:?xt=urn:btih:{own_page}")
    assert row["torrent_url"] == f"/api/torrents/{own_page}.torrent"
    listed = (await held.http.get("/api/torrents")).json()
    assert row == next(r for r in listed if r["infohash"] == own_page)

    missing = await held.http.get(f"/api/torrents/{'ab' * 20}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"this node holds no torrent {'ab' * 20}"
    for bad in ("xyz", "ab" * 19, "g" * 40):
        malformed = await held.http.get(f"/api/torrents/{bad}")
        assert malformed.status_code == 422, bad
        assert malformed.json()["detail"].startswith("an infohash is 40 hex digits"), bad


async def test_the_torrent_file_export_still_answers(held: Held) -> None:
    exported = await held.http.get(f"/api/torrents/{held.seeded[1]}.torrent")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/x-bittorrent"
    unknown = await held.http.get(f"/api/torrents/{'0' * 40}.torrent")
    assert unknown.status_code == 404


def shown(html: str) -> str:
    """Return the Swarm page's "Showing …" line as text."""
    match = re.search(r"<span data-showing>(.*?)</span>\s*(<span|</nav)", html, re.S)
    assert match, html
    return re.sub(r"<[^>]+>", "", match.group(1))


async def test_the_swarm_page_shows_one_page_with_links_to_the_others(held: Held) -> None:
    order = [r["infohash"] for r in (await held.http.get("/api/torrents")).json()]

    second = await held.http.get("/swarm", params={"page": 2, "per": 2})
    assert second.status_code == 200
    html = second.text
    assert shown(html).startswith(f"Showing 3–4 of {SEEDED + 1} torrents")
    assert re.findall(r'<tr data-infohash="([0-9a-f]{40})"', html) == order[2:4]
    assert 'href="/swarm?page=1&amp;per=2" rel="prev"' in html
    assert 'href="/swarm?page=3&amp;per=2" rel="next"' in html
    assert 'data-offset="2" data-limit="2"' in html  # what app.js polls for

    last = (await held.http.get("/swarm", params={"page": 99, "per": 4})).text
    assert shown(last).startswith(f"Showing 5–{SEEDED + 1} of")
    assert 'rel="next"' not in last and 'href="/swarm?page=1&amp;per=4" rel="prev"' in last
    whole = (await held.http.get("/swarm")).text
    assert shown(whole).startswith(f"Showing 1–{SEEDED + 1} of")
    assert 'rel="prev"' not in whole and 'rel="next"' not in whole


@contextlib.asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` on loopback (for the CLI, which speaks real HTTP); yield its URL."""
    port = free_port(IP)
    server = uvicorn.Server(uvicorn.Config(app, host=IP, port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # uvicorn offers no event to await
            if serving.done():
                await serving  # raises why it could not start
            await asyncio.sleep(0.05)
        yield f"http://{IP}:{port}"
    finally:
        server.should_exit = True
        await serving


def cli(*args: str) -> Result:
    """Run the CLI (in a worker thread: the node's loop must keep serving it)."""
    return CliRunner().invoke(main, list(args))


async def test_watch_follows_the_transfer_in_progress_until_it_is_done(
    held: Held, tmp_path: Path
) -> None:
    app = create_app(held.node)
    polled = asyncio.Event()

    async def noting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/torrents":
            polled.set()  # the CLI has seen the transfer in progress
        await app(scope, receive, send)

    listen = f"{SEEDER_IP}:{free_port(SEEDER_IP)}"
    seeder = Engine(
        EngineConfig(listen_interface=listen, public_dht=False, local_only=True),
        tmp_path / "seeder-engine",
    )
    async with served(noting) as url:
        watching = asyncio.create_task(asyncio.to_thread(cli, "torrents", "--watch", "--api", url))
        await asyncio.wait_for(polled.wait(), TIMEOUT)
        # Now a seeder of the missing data: the node downloads it while the CLI watches.
        await seeder.start()
        try:
            folder = tmp_path / "seeder"
            folder.mkdir()
            (folder / "data.bin").write_bytes(MISSING)
            torrent = held.node.engine.torrent_file(held.missing)
            assert torrent is not None
            await seeder.add_torrent(torrent, folder)
            await seeder.wait_finished(held.missing, TIMEOUT)
            port = int(listen.rpartition(":")[2])
            held.node.engine.connect_peers(held.missing, [(SEEDER_IP, port)])

            result = await asyncio.wait_for(watching, TIMEOUT)
        finally:
            await seeder.stop()

    assert result.exit_code == 0, result.output
    size = format_size(len(MISSING))
    assert "data.bin" in result.stderr and f"{size} / {size}" in result.stderr
    assert held.node.engine.status(held.missing).is_seeding


async def test_watch_with_nothing_in_progress_says_so(held: Held) -> None:
    held.node.engine.remove(held.missing)
    async with served(create_app(held.node)) as url:
        result = await asyncio.to_thread(cli, "torrents", "--watch", "--api", url)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no transfers in progress"


async def test_the_cli_lists_a_page_and_says_how_many_more(held: Held) -> None:
    async with served(create_app(held.node)) as url:
        listed = await asyncio.to_thread(cli, "torrents", "--limit", "2", "--api", url)
        everything = await asyncio.to_thread(cli, "torrents", "--api", url)

    assert listed.exit_code == 0, listed.output
    first = [line.split()[-1] for line in listed.stdout.splitlines() if "  infohash " in line]
    assert first == [held.missing, min(held.seeded)]  # the node's order, not re-sorted
    assert listed.stdout.splitlines()[-1] == (
        f"… and {SEEDED + 1 - 2} more of {SEEDED + 1} torrents (--limit shows more)"
    )
    assert everything.stdout.count("  infohash ") == SEEDED + 1
    assert "more of" not in everything.stdout

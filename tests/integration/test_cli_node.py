"""The CLI against running nodes, through click's CliRunner.

Ana posts a file; Ben follows her and fetches it. The CLI talks to Ben's node: ``id`` prints the
running node's address (not the key in some other home), ``status`` and ``torrents`` print sizes,
rates and names the way the web UI does, and ``torrents`` a page at a time. (``torrents --watch``
following a transfer: test_torrent_listing.py.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from swarmfeed.cli.main import main
from swarmfeed.core import bencoding
from swarmfeed.core.units import format_size
from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.integration

FILE_SIZE = 3 * 1024 * 1024 + 12345
SIZE = re.compile(r"^\d+(\.\d)? (Byte|Bytes|KiB|MiB|GiB)$")


class Pair:
    ana: LocalNode
    ben: LocalNode
    post_id: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("cli")
    swarm = LocalSwarm(root, poll_interval=1.0, republish_interval=20.0, first_ip=200)
    with swarm.running():
        state = Pair()
        state.ana = swarm.add("ana", extra_args=["--name", "Ana"])
        state.ben = swarm.add("ben", extra_args=["--name", "Ben"])
        song = root / "first-song.ogg"
        song.write_bytes(bytes(range(256)) * (FILE_SIZE // 256) + b"x" * (FILE_SIZE % 256))
        with song.open("rb") as handle:
            posted = state.ana.api(
                "POST", "/api/posts", data={"text": "a song"}, files=[("files", handle)]
            )
        state.post_id = posted["id"]
        address = state.ana.api("GET", "/api/status")["address"]
        state.ben.api("POST", "/api/follows", json={"author": address})
        swarm.wait_for(
            "ben to hold ana's song",
            lambda: any(
                t["kind"] == "media" and t["seeding"] for t in state.ben.api("GET", "/api/torrents")
            ),
        )
        # Session counters come with the engine's periodic stats, a moment after the transfer.
        swarm.wait_for(
            "ben's counters to show the download",
            lambda: state.ben.api("GET", "/api/status")["bytes_down"] >= FILE_SIZE,
        )
        yield state


def run(node: LocalNode, *args: str, home: Path | None = None) -> tuple[str, str]:
    """Run a CLI command against ``node``; return stdout and stderr."""
    extra = ["--home", str(home)] if home else []
    result = CliRunner().invoke(main, [*args, *extra, "--api", node.url])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_id_prints_the_running_nodes_address(pair: Pair, tmp_path: Path) -> None:
    # Another identity in the home the CLI is given: the running node's address wins.
    created = CliRunner().invoke(main, ["init", "--home", str(tmp_path)])
    assert created.exit_code == 0, created.output
    other = created.stdout.strip().splitlines()[-1]

    stdout, stderr = run(pair.ben, "id", home=tmp_path)

    address = pair.ben.api("GET", "/api/status")["address"]
    assert stdout.strip() == address
    assert address != other
    assert f"the node running at {pair.ben.url}" in stderr


def test_id_finds_the_node_through_http_and_the_environment(pair: Pair, tmp_path: Path) -> None:
    address = pair.ben.api("GET", "/api/status")["address"]
    host_port = pair.ben.url.removeprefix("http://")
    by_flag = CliRunner().invoke(main, ["id", "--home", str(tmp_path), "--http", host_port])
    assert by_flag.exit_code == 0, by_flag.output
    assert by_flag.stdout.strip() == address
    by_env = CliRunner().invoke(
        main, ["id", "--home", str(tmp_path)], env={"SWARMFEED_API": pair.ben.url}
    )
    assert by_env.exit_code == 0, by_env.output
    assert by_env.stdout.strip() == address


def test_status_prints_the_full_address_and_human_sizes(pair: Pair) -> None:
    stdout, _ = run(pair.ben, "status")

    info = pair.ben.api("GET", "/api/status")
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in stdout.splitlines())
    assert fields["author"] == info["address"]  # whole, on one line
    assert fields["node"] == pair.ben.url
    assert fields["following"] == "1 author"
    downloaded = fields["downloaded"].split("  (")[0]
    assert SIZE.match(downloaded), downloaded
    assert downloaded.endswith("MiB")  # Ben fetched the 3 MiB song
    figures = stdout.replace(info["address"], "").replace(pair.ben.url, "")
    assert not re.search(r"\d{5,}", figures), "a raw byte count"


def test_torrents_lists_names_sizes_and_rates(pair: Pair) -> None:
    stdout, _ = run(pair.ben, "torrents")

    assert "first-song.ogg — Ana (media)" in stdout
    assert "feed page of Ana (page)" in stdout
    assert format_size(FILE_SIZE) in stdout
    assert "post-0" not in stdout
    assert not re.search(r"\d+ Bytes/s", stdout), "tiny rates are shown as idle"


def test_torrents_watch_with_everything_complete_says_so(pair: Pair) -> None:
    result = CliRunner().invoke(main, ["torrents", "--watch", "--api", pair.ben.url])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no transfers in progress"


def test_torrents_limit_says_how_many_more(pair: Pair) -> None:
    held = len(pair.ben.api("GET", "/api/torrents"))
    assert held >= 2  # Ana's feed page and her song

    stdout, _ = run(pair.ben, "torrents", "--limit", "1")

    assert stdout.count("  infohash ") == 1
    assert (
        stdout.splitlines()[-1] == f"… and {held - 1} more of {held} torrents (--limit shows more)"
    )


def media_infohash(node: LocalNode) -> str:
    [media] = [t for t in node.api("GET", "/api/torrents") if t["kind"] == "media"]
    return str(media["infohash"])


def test_torrents_names_each_infohash_for_export(pair: Pair) -> None:
    stdout, _ = run(pair.ben, "torrents")

    assert f"  infohash {media_infohash(pair.ben)}" in stdout.splitlines()


def test_torrent_export_writes_a_hybrid_torrent_with_piece_layers(
    pair: Pair, tmp_path: Path
) -> None:
    infohash = media_infohash(pair.ben)
    target = tmp_path / "song.torrent"

    stdout, stderr = run(pair.ben, "torrent", "export", infohash.upper(), "-o", str(target))

    assert stdout.strip() == str(target)
    assert "wrote" in stderr
    torrent = bencoding.decode(target.read_bytes())
    info = bencoding.encode(torrent[b"info"])
    assert hashlib.sha1(info).hexdigest() == infohash
    post = pair.ben.api("GET", f"/api/posts/{pair.post_id}")
    assert hashlib.sha256(info).hexdigest() == post["media"]["infohash_v2"]
    [root] = [e[b""][b"pieces root"] for e in torrent[b"info"][b"file tree"].values()]
    pieces = -(-FILE_SIZE // torrent[b"info"][b"piece length"])
    assert len(torrent[b"piece layers"][root]) == 32 * pieces


def test_torrent_export_names_the_file_as_the_node_suggests(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infohash = media_infohash(pair.ben)
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["torrent", "export", infohash, "--api", pair.ben.url])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"post-0-{infohash[:8]}.torrent"
    saved = (tmp_path / result.stdout.strip()).read_bytes()
    piped = runner.invoke(main, ["torrent", "export", infohash, "-o", "-", "--api", pair.ben.url])
    assert piped.exit_code == 0
    assert piped.stdout_bytes == saved


def test_torrent_export_of_a_page_is_v1(pair: Pair, tmp_path: Path) -> None:
    [page] = [t for t in pair.ana.api("GET", "/api/torrents") if t["kind"] == "page"]
    target = tmp_path / "page.torrent"

    run(pair.ana, "torrent", "export", page["infohash"], "-o", str(target))

    torrent = bencoding.decode(target.read_bytes())
    assert set(torrent) == {b"info"}
    assert hashlib.sha1(bencoding.encode(torrent[b"info"])).hexdigest() == page["infohash"]


def test_torrent_export_says_what_went_wrong(pair: Pair) -> None:
    unknown = CliRunner().invoke(main, ["torrent", "export", "ab" * 20, "--api", pair.ben.url])
    assert unknown.exit_code == 1
    assert "404" in unknown.output and "holds no torrent" in unknown.output
    malformed = CliRunner().invoke(main, ["torrent", "export", "xyz", "--api", pair.ben.url])
    assert malformed.exit_code == 2
    assert "40 hex digits" in malformed.output

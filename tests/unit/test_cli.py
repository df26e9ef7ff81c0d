"""The CLI commands that work without a running node, through click's CliRunner.

``NO_NODE`` points the CLI at a port where nothing listens, so a node someone runs on this
machine's default address cannot answer in these tests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from swarmfeed.cli.main import main
from swarmfeed.core.identity import parse_author

NO_NODE = ["--api", "http://127.0.0.1:9"]


def test_init_then_id(tmp_path: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["init", "--home", str(tmp_path)])
    assert created.exit_code == 0, created.output
    address = created.output.strip().splitlines()[-1]
    assert len(parse_author(address)) == 32
    shown = runner.invoke(main, ["id", "--home", str(tmp_path), *NO_NODE])
    assert shown.exit_code == 0
    assert shown.stdout.strip() == address
    assert f"no node answers at http://127.0.0.1:9; the identity in {tmp_path}" in shown.stderr
    again = runner.invoke(main, ["init", "--home", str(tmp_path)])
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_sealed_identity_asks_for_the_passphrase(tmp_path: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(
        main, ["init", "--home", str(tmp_path), "--passphrase"], input="s3cret\ns3cret\n"
    )
    assert created.exit_code == 0, created.output
    address = created.output.strip().splitlines()[-1]
    shown = runner.invoke(main, ["id", "--home", str(tmp_path), *NO_NODE], input="s3cret\n")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.strip().splitlines()[-1] == address
    wrong = runner.invoke(main, ["id", "--home", str(tmp_path), *NO_NODE], input="nope\n")
    assert wrong.exit_code != 0
    assert "passphrase" in wrong.output


def test_id_without_node_or_identity_says_where_it_looked(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["id", "--home", str(tmp_path), *NO_NODE])
    assert result.exit_code != 0
    assert "no node answers at http://127.0.0.1:9" in result.output
    assert f"no identity in {tmp_path}" in result.output
    assert "SWARMFEED_API" in result.output


def test_commands_report_an_unreachable_node(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["status", "--home", str(tmp_path), "--api", "http://127.0.0.1:9"]
    )
    assert result.exit_code != 0
    assert "cannot reach the node" in result.output


def test_unfollow_rejects_bad_addresses(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["unfollow", "--home", str(tmp_path), "--api", "http://127.0.0.1:9", "not-a-key"]
    )
    assert result.exit_code != 0


@pytest.fixture
def root_logger() -> Iterator[None]:
    """Give back the root logger's handlers that ``swarmfeed node`` replaces with its own."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def node_args(home: Path) -> list[str]:
    # Never reached when the refusal works: the node stops before binding anything.
    return ["node", "--home", str(home), "--listen", "127.0.0.158:0", "--http", "127.0.0.158:0"]


@pytest.mark.usefixtures("root_logger")
def test_node_with_a_broken_index_says_how_to_rebuild_it(tmp_path: Path) -> None:
    (tmp_path / "swarmfeed.db").write_bytes(b"not a database, a photo of one" * 200)
    result = CliRunner().invoke(main, node_args(tmp_path))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert "swarmfeed.db" in result.output and "rebuilds the index" in result.output


@pytest.mark.usefixtures("root_logger")
def test_node_with_a_folder_where_the_key_belongs_says_so(tmp_path: Path) -> None:
    (tmp_path / "identity.key").mkdir()
    result = CliRunner().invoke(main, node_args(tmp_path))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "identity.key is a folder" in result.output


def test_every_command_is_there() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0
    for command in ("init", "node", "id", "post", "follow", "unfollow", "follows", "timeline"):
        assert command in listed.stdout
    for command in ("status", "torrents", "demo"):
        assert command in listed.stdout
    shown = CliRunner().invoke(main, ["demo", "--help"])
    assert shown.exit_code == 0
    assert "--clip-seconds" in shown.stdout

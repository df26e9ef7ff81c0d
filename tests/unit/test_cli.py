"""The CLI commands that work without a running node, through click's CliRunner.

``NO_NODE`` points the CLI at a port where nothing listens, so a node someone runs on this
machine's default address cannot answer in these tests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from swarmfeed.cli.exits import ExitCode, exit_code_for
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
    assert result.exit_code == ExitCode.DATA == 65, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert "swarmfeed.db" in result.output and "rebuilds the index" in result.output


@pytest.mark.usefixtures("root_logger")
def test_node_with_a_folder_where_the_key_belongs_says_so(tmp_path: Path) -> None:
    (tmp_path / "identity.key").mkdir()
    result = CliRunner().invoke(main, node_args(tmp_path))
    assert result.exit_code == ExitCode.DATA, result.output
    assert isinstance(result.exception, SystemExit)
    assert "identity.key is a folder" in result.output


def test_every_command_is_there() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0
    for command in ("init", "node", "id", "post", "follow", "unfollow", "follows", "timeline"):
        assert command in listed.stdout
    for command in ("status", "torrents", "demo", "mirror", "unmirror", "health"):
        assert command in listed.stdout
    for command in ("reply", "repost", "like", "delete", "profile", "block", "notifications"):
        assert command in listed.stdout
    for sub in ("import", "export"):
        assert sub in CliRunner().invoke(main, ["follows", "--help"]).stdout
    shown = CliRunner().invoke(main, ["demo", "--help"])
    assert shown.exit_code == 0
    assert "--clip-seconds" in shown.stdout


@pytest.mark.usefixtures("root_logger")
def test_node_with_invalid_settings_exits_with_the_config_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*node_args(tmp_path), "--poll-interval", "-"])
    assert result.exit_code == ExitCode.USAGE  # click refuses what is not a number
    (tmp_path / "config.toml").write_text('storage_budget_bytes = "lots"\n')
    result = CliRunner().invoke(main, node_args(tmp_path))
    assert result.exit_code == ExitCode.CONFIG == 78, result.output
    assert "storage_budget_bytes" in result.output


@pytest.mark.usefixtures("root_logger")
def test_a_sealed_key_without_a_passphrase_exits_with_no_permission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWARMFEED_PASSPHRASE", "right")
    assert (
        CliRunner().invoke(main, ["init", "--home", str(tmp_path), "--passphrase"]).exit_code == 0
    )
    monkeypatch.delenv("SWARMFEED_PASSPHRASE")
    result = CliRunner().invoke(main, node_args(tmp_path))  # no terminal to ask on
    assert result.exit_code == ExitCode.NO_PERMISSION == 77, result.output
    assert "SWARMFEED_PASSPHRASE" in result.output
    monkeypatch.setenv("SWARMFEED_PASSPHRASE", "wrong")
    assert CliRunner().invoke(main, node_args(tmp_path)).exit_code == ExitCode.NO_PERMISSION


@pytest.mark.usefixtures("root_logger")
def test_an_unwritable_home_exits_with_cant_create(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    home = tmp_path / "ro"
    home.mkdir(mode=0o500)
    result = CliRunner().invoke(main, node_args(home / "data"))
    assert result.exit_code == ExitCode.CANT_CREATE, result.output


def test_exit_codes_name_the_kind_of_failure() -> None:
    import errno

    from swarmfeed.server.runner import ListenError
    from swarmfeed.store.keystore import PassphraseRequired, WrongPassphrase
    from swarmfeed.store.sqlite import DatabaseError

    assert exit_code_for(OSError(errno.EACCES, "denied")) is ExitCode.CANT_CREATE
    assert exit_code_for(OSError(errno.EROFS, "read-only")) is ExitCode.CANT_CREATE
    assert exit_code_for(OSError(errno.EADDRINUSE, "in use")) is ExitCode.UNAVAILABLE
    assert exit_code_for(ListenError("in use")) is ExitCode.UNAVAILABLE
    assert exit_code_for(PassphraseRequired("sealed")) is ExitCode.NO_PERMISSION
    assert exit_code_for(WrongPassphrase("no")) is ExitCode.NO_PERMISSION
    assert exit_code_for(DatabaseError("broken")) is ExitCode.DATA
    assert exit_code_for(RuntimeError("bug")) is ExitCode.FAILURE

"""The CLI commands that work without a running node, through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from swarmfeed.cli.main import main
from swarmfeed.core.identity import parse_author


def test_init_then_id(tmp_path: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["init", "--home", str(tmp_path)])
    assert created.exit_code == 0, created.output
    address = created.output.strip().splitlines()[-1]
    assert len(parse_author(address)) == 32
    shown = runner.invoke(main, ["id", "--home", str(tmp_path)])
    assert shown.exit_code == 0
    assert shown.output.strip() == address
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
    shown = runner.invoke(main, ["id", "--home", str(tmp_path)], input="s3cret\n")
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip().splitlines()[-1] == address
    wrong = runner.invoke(main, ["id", "--home", str(tmp_path)], input="nope\n")
    assert wrong.exit_code != 0
    assert "passphrase" in wrong.output


def test_id_without_identity(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["id", "--home", str(tmp_path)])
    assert result.exit_code != 0
    assert "swarmfeed init" in result.output


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

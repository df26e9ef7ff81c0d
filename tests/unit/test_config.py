"""Settings: flags > environment > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmfeed.errors import InvalidInput
from swarmfeed.node.config import Settings, is_loopback, parse_endpoint


def test_precedence_flags_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text(
        'listen = "127.0.0.9:7000"\nhttp = "127.0.0.9:9000"\npoll_interval = 10.0\n'
    )
    monkeypatch.setenv("SWARMFEED_HTTP", "127.0.0.9:9001")
    settings = Settings.load(home=tmp_path, poll_interval=2.5)
    assert settings.listen == "127.0.0.9:7000"  # from the file
    assert settings.http == "127.0.0.9:9001"  # environment beats the file
    assert settings.poll_interval == 2.5  # flag beats both


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        Settings.load(tmp_path / "nope.toml", home=tmp_path)


def test_bad_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("listen = \n")
    with pytest.raises(InvalidInput):
        Settings.load(home=tmp_path)


@pytest.mark.parametrize("text", ["nohost", ":80", "host:", "host:99999", "host:abc"])
def test_bad_endpoints(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_endpoint(text)


def test_endpoints_and_token_requirement(tmp_path: Path) -> None:
    assert parse_endpoint("[::1]:8080") == ("::1", 8080)
    assert is_loopback("127.0.0.5") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not Settings(home=tmp_path).needs_token
    assert Settings(home=tmp_path, http="0.0.0.0:8080").needs_token
    assert Settings(home=tmp_path, bootstrap=["10.0.0.1:6881"]).bootstrap_nodes == (
        ("10.0.0.1", 6881),
    )


def test_invalid_values_are_reported_as_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="profile_name"):
        Settings.load(home=tmp_path, profile_name="x" * 65)
    with pytest.raises(InvalidInput, match="listen"):
        Settings.load(home=tmp_path, listen="nowhere")


def test_push_channel_port_defaults_to_the_listen_port_plus_one(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).push_endpoint == ("0.0.0.0", 6882)
    assert Settings(home=tmp_path, listen="127.0.0.9:7000").push_endpoint == ("127.0.0.9", 7001)
    assert Settings(home=tmp_path, listen="[::]:7000").push_endpoint == ("0.0.0.0", 7001)
    assert Settings(home=tmp_path, listen="127.0.0.9:0").push_endpoint == ("127.0.0.9", 0)
    assert Settings(home=tmp_path, listen="127.0.0.9:65535").push_endpoint == ("127.0.0.9", 0)
    chosen = Settings.load(home=tmp_path, listen="127.0.0.9:7000", push_port=0)
    assert chosen.push_endpoint == ("127.0.0.9", 0)
    for bad in ({"push_port": 70000}, {"push_max_children": 0}, {"push_max_children": 65}):
        with pytest.raises(InvalidInput, match="push_"):
            Settings.load(home=tmp_path, **bad)

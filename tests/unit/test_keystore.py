"""The identity key file: 0600, plain or sealed with a passphrase."""

from __future__ import annotations

import stat
from pathlib import Path

import nacl.pwhash
import pytest

from swarmfeed.core.identity import KeyPair
from swarmfeed.errors import InvalidInput
from swarmfeed.store import keystore

FAST = {"ops": nacl.pwhash.argon2id.OPSLIMIT_MIN, "mem": nacl.pwhash.argon2id.MEMLIMIT_MIN}


def test_plain_round_trip_and_mode(tmp_path: Path) -> None:
    keys = KeyPair.generate()
    path = tmp_path / "home" / "identity.key"
    keystore.save_keys(path, keys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keystore.load_keys(path) == keys


def test_sealed_needs_the_right_passphrase(tmp_path: Path) -> None:
    keys = KeyPair.generate()
    path = tmp_path / "identity.key"
    keystore.save_keys(path, keys, "correct horse", **FAST)
    assert keys.seed not in path.read_bytes()
    with pytest.raises(keystore.PassphraseRequired):
        keystore.load_keys(path)
    with pytest.raises(keystore.WrongPassphrase):
        keystore.load_keys(path, "battery staple")
    assert keystore.load_keys(path, "correct horse") == keys


def test_load_or_create_creates_once(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    first, created = keystore.load_or_create(path)
    second, created_again = keystore.load_or_create(path)
    assert created and not created_again
    assert first == second


@pytest.mark.parametrize("content", [b"", b"garbage", b"d4:kind5:plaine", b"i1e"])
def test_corrupt_key_files_are_refused_clearly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "identity.key"
    path.write_bytes(content)
    with pytest.raises(InvalidInput):
        keystore.load_keys(path)

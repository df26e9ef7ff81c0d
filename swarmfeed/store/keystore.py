"""The node's identity key file: mode 0600, optionally sealed with a passphrase.

File format (canonical bencoding, protocol.md §1):
- plain:  ``{"version": 1, "kind": "plain", "seed": <32 bytes>}``
- sealed: ``{"version": 1, "kind": "argon2id-secretbox", "salt": <16>, "ops": <int>,
  "mem": <int>, "box": <24-byte nonce + XSalsa20-Poly1305 ciphertext of the seed>}``
  where the box key is argon2id(passphrase, salt, ops, mem) (libsodium's crypto_pwhash).
"""

from __future__ import annotations

import os
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from swarmfeed.core import bencoding
from swarmfeed.core.identity import KeyPair
from swarmfeed.errors import InvalidInput, SwarmfeedError
from swarmfeed.store.files import atomic_write

KEY_FILE_NAME = "identity.key"
PLAIN = b"plain"
SEALED = b"argon2id-secretbox"


class PassphraseRequired(SwarmfeedError):
    """The key file is sealed and no passphrase was given."""


class WrongPassphrase(SwarmfeedError):
    """The passphrase does not open the sealed key file."""


def key_path(home: Path) -> Path:
    """Return where the identity key lives inside ``home``."""
    return home / KEY_FILE_NAME


def save_keys(
    path: Path,
    keys: KeyPair,
    passphrase: str | None = None,
    *,
    ops: int = nacl.pwhash.argon2id.OPSLIMIT_MODERATE,
    mem: int = nacl.pwhash.argon2id.MEMLIMIT_MODERATE,
) -> None:
    """Write ``keys`` to ``path`` (mode 0600), sealed when a passphrase is given."""
    if passphrase is None:
        record: dict[str, object] = {"version": 1, "kind": PLAIN, "seed": keys.seed}
    else:
        salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
        box = nacl.secret.SecretBox(_derive(passphrase, salt, ops, mem))
        record = {
            "version": 1,
            "kind": SEALED,
            "salt": salt,
            "ops": ops,
            "mem": mem,
            "box": bytes(box.encrypt(keys.seed)),
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, bencoding.encode(record), mode=0o600)


def load_keys(path: Path, passphrase: str | None = None) -> KeyPair:
    """Read the key pair at ``path``; sealed files need the right ``passphrase``."""
    if path.is_dir():
        raise InvalidInput(
            f"{path} is a folder, not a key file: move the folder away and, if you have this "
            f"node's identity.key, put it back at {path} (without one the node creates a new "
            "identity)"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the key file {path}: {exc.strerror}") from exc
    try:
        record = bencoding.dictionary(bencoding.decode(raw, max_size=4096), "key file")
    except InvalidInput as exc:
        raise InvalidInput(f"{path} is not a swarmfeed key file: {exc}") from exc
    kind = record.get(b"kind")
    if kind == PLAIN:
        return KeyPair.from_seed(bencoding.binary(record.get(b"seed"), "seed", length=32))
    if kind != SEALED:
        raise InvalidInput(f"{path}: unknown key file kind {kind!r}")
    if passphrase is None:
        raise PassphraseRequired(
            f"{path} is sealed with a passphrase; set SWARMFEED_PASSPHRASE or enter it"
        )
    salt = bencoding.binary(record.get(b"salt"), "salt", length=nacl.pwhash.argon2id.SALTBYTES)
    ops = bencoding.integer(record.get(b"ops"), "ops", minimum=1)
    mem = bencoding.integer(record.get(b"mem"), "mem", minimum=1)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, ops, mem))
    try:
        seed = box.decrypt(bencoding.binary(record.get(b"box"), "box"))
    except nacl.exceptions.CryptoError as exc:
        raise WrongPassphrase(f"the passphrase does not open {path}") from exc
    return KeyPair.from_seed(bytes(seed))


def load_or_create(path: Path, passphrase: str | None = None) -> tuple[KeyPair, bool]:
    """Load the key pair at ``path`` or create one; return it and whether it was created."""
    if path.exists():
        return load_keys(path, passphrase), False
    keys = KeyPair.generate()
    save_keys(path, keys, passphrase)
    return keys, True


def _derive(passphrase: str, salt: bytes, ops: int, mem: int) -> bytes:
    key = nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"), salt, opslimit=ops, memlimit=mem
    )
    return bytes(key)


def ensure_private(path: Path) -> None:
    """Reset ``path`` to mode 0600 if something loosened it."""
    if path.exists() and (path.stat().st_mode & 0o077):
        os.chmod(path, 0o600)

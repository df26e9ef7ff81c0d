"""Hybrid v1+v2 torrent creation (BEP 52) with progress reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import libtorrent as lt

from swarmfeed.engine.types import CreatedTorrent
from swarmfeed.errors import InvalidInput


def create_torrent(
    root: Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    v1_only: bool = False,
    piece_size: int = 0,
) -> CreatedTorrent:
    """Hash ``root`` (a file, or a folder of files) into a hybrid (or v1-only) torrent.

    Blocking: callers run it in a worker thread. ``progress(done, total)`` is called per piece.
    ``piece_size`` 0 lets libtorrent choose; a fixed size makes the infohash depend on the
    content alone (feed pages, which must be rebuilt byte for byte).
    """
    if not root.exists():
        raise InvalidInput(f"{root} does not exist")
    entries = lt.list_files(str(root))
    if len(entries) == 0:
        raise InvalidInput(f"{root} holds no files")
    creator = lt.create_torrent(entries, piece_size, lt.create_torrent.v1_only if v1_only else 0)
    creator.set_creator("swarmfeed")
    total = creator.num_pieces()
    done = 0

    def on_piece(_index: int) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    lt.set_piece_hashes(creator, str(root.parent), on_piece)
    torrent = bytes(lt.bencode(creator.generate()))
    info = lt.torrent_info(torrent)
    storage = info.layout()
    files = tuple(
        (_relative(storage.file_path(i), info.name()), storage.file_size(i))
        for i in range(storage.num_files())
        if not storage.file_flags(i) & lt.file_storage.flag_pad_file
    )
    info_section = bytes(info.info_section())
    hashes = info.info_hashes()
    return CreatedTorrent(
        torrent=torrent,
        infohash=bytes.fromhex(str(hashes.v1)),
        infohash_v2=None if v1_only else bytes.fromhex(str(hashes.v2)),
        name=info.name(),
        files=files,
        piece_length=info.piece_length(),
        info_section=info_section,
    )


def _relative(path: str, name: str) -> str:
    """Return ``path`` without the torrent's root folder (single-file: the file name)."""
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[1:]) if len(parts) > 1 and parts[0] == name else path

"""A torrent's content as swarmfeed sees it: the .torrent, the info dict, the files on disk."""

from __future__ import annotations

from pathlib import Path

import libtorrent as lt

from swarmfeed.engine.table import Torrent
from swarmfeed.engine.types import FileEntry, TorrentStatus


def torrent_bytes(torrent: Torrent) -> bytes | None:
    """Return the bencoded .torrent (with info dict) or None before metadata."""
    info = torrent.handle.torrent_file()
    return None if info is None else bytes(lt.bencode(lt.create_torrent(info).generate()))


def info_section(torrent: Torrent) -> bytes | None:
    """Return the raw bencoded info dict, or None before metadata."""
    info = torrent.handle.torrent_file()
    return None if info is None else bytes(info.info_section())


def file_entries(torrent: Torrent, status: TorrentStatus) -> list[FileEntry]:
    """Return the torrent's files under its save path (pad files left out; [] before metadata)."""
    info = torrent.handle.torrent_file()
    if info is None:
        return []
    storage = info.layout()
    save_path = Path(status.save_path)
    name = info.name()
    entries = []
    for index in range(storage.num_files()):
        if storage.file_flags(index) & lt.file_storage.flag_pad_file:
            continue
        full = storage.file_path(index)
        parts = full.replace("\\", "/").split("/")
        relative = "/".join(parts[1:]) if len(parts) > 1 and parts[0] == name else full
        entries.append(
            FileEntry(
                index=index,
                path=relative,
                size=storage.file_size(index),
                offset=storage.file_offset(index),
                absolute_path=save_path / full,
            )
        )
    return entries

"""Exporting a torrent the node holds as a .torrent file other BitTorrent clients can open.

The info dict comes from the engine byte for byte (so both infohashes stay); a hybrid or v2
torrent also gets its BEP 52 piece layers, hashed again from the files on disk and checked
against the roots its info dict names. That costs one read of the files, once: results are
kept (a few dozen torrents' layers are kilobytes) and one export runs per torrent at a time.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from swarmfeed.core import bencoding
from swarmfeed.core.media import MAX_INFO_BYTES
from swarmfeed.core.torrentfile import (
    PieceLayerHasher,
    V2File,
    export_filename,
    piece_length,
    torrent_bytes,
    v2_files,
)
from swarmfeed.engine.engine import Engine
from swarmfeed.errors import CorruptData, NotFound, SwarmfeedError

READ_BYTES = 1024 * 1024
CACHED = 64
"""Exported torrents kept in memory (their size is the info dict plus 32 bytes a piece)."""


class Incomplete(SwarmfeedError):
    """The torrent's files are not all here, so its piece layers cannot be computed yet."""


@dataclass(frozen=True)
class ExportedTorrent:
    """A .torrent file and the name to save it under."""

    filename: str
    data: bytes


class TorrentExporter:
    """Builds .torrent files of the engine's torrents (v1 pages, hybrid media with layers)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._done: OrderedDict[str, ExportedTorrent] = OrderedDict()
        self._building: dict[str, asyncio.Task[ExportedTorrent]] = {}

    async def export(self, infohash: str) -> ExportedTorrent:
        """Return the .torrent of ``infohash`` (v1 hex) or raise NotFound / Incomplete."""
        infohash = infohash.lower()
        if not self.engine.has(infohash):
            raise NotFound(f"this node holds no torrent {infohash}")
        cached = self._done.get(infohash)
        if cached is not None:
            self._done.move_to_end(infohash)
            return cached
        task = self._building.get(infohash)
        if task is None:
            task = asyncio.create_task(self._build(infohash))
            self._building[infohash] = task
            task.add_done_callback(lambda _: self._building.pop(infohash, None))
        built = await asyncio.shield(task)
        self._done[infohash] = built
        while len(self._done) > CACHED:
            self._done.popitem(last=False)
        return built

    async def _build(self, infohash: str) -> ExportedTorrent:
        info_section = self.engine.info_section(infohash)
        if info_section is None:
            raise Incomplete(f"torrent {infohash} has no metadata yet: use its magnet link")
        info = bencoding.dictionary(
            bencoding.decode(info_section, max_size=MAX_INFO_BYTES), "info dict"
        )
        name = bencoding.text(info.get(b"name"), "torrent name")
        files = v2_files(info)
        layers: dict[bytes, bytes] = {}
        if files:
            size = piece_length(info)
            status = self.engine.status(infohash)
            if status.total_wanted == 0 or status.total_done < status.total_wanted:
                raise Incomplete(
                    f"torrent {infohash} is not complete here yet: its piece layers (BEP 52) "
                    "are hashed from the files; use its magnet link meanwhile"
                )
            await self.engine.wait_finished(infohash, timeout=60.0)
            on_disk = {entry.path: entry.absolute_path for entry in self.engine.files(infohash)}
            for file in files:
                if file.length <= size:
                    continue
                path = on_disk.get(file.path)
                if path is None:
                    raise Incomplete(f"file {file.path!r} of torrent {infohash} is not here")
                layers[file.pieces_root] = await asyncio.to_thread(_layer, path, file, size)
        return ExportedTorrent(export_filename(name, infohash), torrent_bytes(info_section, layers))


def _layer(path: Path, file: V2File, size: int) -> bytes:
    """Hash ``path`` into its piece layer; raise CorruptData if it does not match its root."""
    hasher = PieceLayerHasher(file.length, size)
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(READ_BYTES):
                hasher.update(chunk)
        root, layer = hasher.finish()
    except (OSError, ValueError) as exc:
        raise CorruptData(f"file {file.path!r} could not be hashed: {exc}") from exc
    if root != file.pieces_root:
        raise CorruptData(f"file {file.path!r} on disk does not match its pieces root")
    return layer

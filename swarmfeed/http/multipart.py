"""Streaming ``multipart/form-data`` reader: files go to disk as they arrive, within limits.

Starlette's form parser (what FastAPI's ``UploadFile`` uses) spools files to the system temp
folder and accepts a thousand fields of 1 MiB each before a route sees anything. Here the body
is parsed as it arrives (python-multipart's streaming parser, RFC 7578), file bytes are written
into a folder the caller chose (the node's staging area) from a worker thread, and every limit
(total file bytes, number and size of fields, number of files, body size) is checked as bytes
arrive, so a refused upload costs at most one limit's worth of disk and a chunk of memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from swarmfeed.core.posts import MAX_FILES
from swarmfeed.errors import InvalidInput, TooLarge
from swarmfeed.http.headers import safe_content_type

# File bytes are handed to a worker thread in batches of this size (or at the end of a part).
WRITE_BATCH = 1024 * 1024
# Allowance per part for its boundary line and headers, when bounding the whole body.
PART_OVERHEAD = 1024


@dataclass(frozen=True)
class FormLimits:
    """What one form may hold."""

    max_file_bytes: int
    max_files: int = MAX_FILES
    max_fields: int = 8
    max_field_bytes: int = 16 * 1024  # a post's text is at most 8 KiB of UTF-8 (protocol.md §9)

    @property
    def max_body_bytes(self) -> int:
        """Return the largest body these limits can need: files, fields and part framing."""
        parts = self.max_files + self.max_fields
        return self.max_file_bytes + self.max_fields * self.max_field_bytes + parts * PART_OVERHEAD


@dataclass(frozen=True)
class ReceivedFile:
    """A file of the form, written to disk."""

    path: Path
    filename: str
    mime: str | None
    size: int


@dataclass
class ReceivedForm:
    """The text fields and files of one form."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)


@dataclass
class _Part:
    name: str
    filename: str | None
    mime: str | None
    data: bytearray = field(default_factory=bytearray)
    size: int = 0
    ended: bool = False
    path: Path | None = None
    handle: BinaryIO | None = None


class _Collector:
    """The parser's callbacks: sort parts into fields and files and check every limit."""

    def __init__(self, limits: FormLimits, folder: Path, file_field: str) -> None:
        self.limits = limits
        self.folder = folder
        self.file_parts = 0
        self.file_field = file_field
        self.headers: list[tuple[bytes, bytes]] = []
        self._header_field = bytearray()
        self._header_value = bytearray()
        self.current: _Part | None = None
        self.parts: list[_Part] = []
        self.fields = 0
        self.files = 0
        self.file_bytes = 0
        self.finished = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.headers = []

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers.append((bytes(self._header_field).lower(), bytes(self._header_value)))
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        headers = dict(self.headers)
        disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidInput("every form part needs Content-Disposition: form-data; name=...")
        name = options[b"name"].decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self.fields += 1
            if self.fields > self.limits.max_fields:
                raise TooLarge(f"a form holds at most {self.limits.max_fields} fields")
            self.current = _Part(name, None, None)
        else:
            if name != self.file_field:
                raise InvalidInput(f"files go in the {self.file_field!r} field, not {name!r}")
            mime = headers.get(b"content-type")
            self.current = _Part(
                name,
                filename.decode("utf-8", "replace"),
                (safe_content_type(mime.decode("latin-1"), "") or None) if mime else None,
            )
            self.current.path = self.folder / f"upload-{self.file_parts}"
            self.file_parts += 1
        self.parts.append(self.current)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.current
        if part is None:
            return
        size = end - start
        part.size += size
        if part.filename is None:
            if part.size > self.limits.max_field_bytes:
                raise TooLarge(
                    f"form field {part.name!r} is over {self.limits.max_field_bytes} bytes"
                )
        else:
            self.file_bytes += size
            if self.file_bytes > self.limits.max_file_bytes:
                raise TooLarge(f"upload is over the {self.limits.max_file_bytes}-byte limit")
        part.data += data[start:end]

    def on_part_end(self) -> None:
        part = self.current
        self.current = None
        if part is None:
            return
        part.ended = True
        if part.filename is None:
            return
        if part.filename == "" and part.size == 0:
            self.parts.remove(part)  # a file input left empty: no file was chosen
            return
        if part.size == 0:
            raise InvalidInput(f"file {part.filename!r} is empty: there is nothing to share")
        self.files += 1
        if self.files > self.limits.max_files:
            raise TooLarge(f"a post holds at most {self.limits.max_files} files")

    def on_end(self) -> None:
        self.finished = True


async def read_multipart(
    chunks: AsyncIterator[bytes],
    content_type: str,
    folder: Path,
    limits: FormLimits,
    *,
    file_field: str = "files",
) -> ReceivedForm:
    """Read a ``multipart/form-data`` body into text fields and files under ``folder``."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput("expected a multipart/form-data body with a boundary")
    collector = _Collector(limits, folder, file_field)
    try:
        parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    except FormParserError as exc:
        raise InvalidInput(f"malformed multipart body: {exc}") from exc
    received = 0
    form = ReceivedForm()
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limits.max_body_bytes:
                raise TooLarge(f"upload is over the {limits.max_file_bytes}-byte limit")
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise InvalidInput(f"malformed multipart body: {exc}") from exc
            await _drain(collector, form)
        parser.finalize()
        if not collector.finished:
            raise InvalidInput("the multipart body ended before its closing boundary")
        await _drain(collector, form)
    finally:
        await asyncio.to_thread(_close_all, collector.parts)
    return form


async def _drain(collector: _Collector, form: ReceivedForm) -> None:
    """Move what the parser collected: fields into the form, file bytes to disk."""
    for part in list(collector.parts):
        if part.filename is None:
            if part.ended:
                try:
                    form.fields[part.name] = bytes(part.data).decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InvalidInput(f"form field {part.name!r} is not UTF-8") from exc
                collector.parts.remove(part)
            continue
        if len(part.data) >= WRITE_BATCH or (part.ended and part.data):
            data = bytes(part.data)
            part.data.clear()
            await asyncio.to_thread(_write, part, data)
        if part.ended:
            await asyncio.to_thread(_close, part)
            assert part.path is not None
            form.files.append(ReceivedFile(part.path, part.filename, part.mime, part.size))
            collector.parts.remove(part)


def _write(part: _Part, data: bytes) -> None:
    if part.handle is None:
        assert part.path is not None
        part.handle = part.path.open("xb")
    part.handle.write(data)


def _close(part: _Part) -> None:
    if part.handle is not None:
        part.handle.close()
        part.handle = None


def _close_all(parts: list[_Part]) -> None:
    for part in parts:
        _close(part)

"""The streaming multipart reader: fields, files on disk, every limit, any chunking."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swarmfeed.errors import InvalidInput, TooLarge
from swarmfeed.http.multipart import FormLimits, ReceivedForm, read_multipart

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
Part = tuple[str, str | None, bytes, str | None]


def encode(parts: Sequence[Part]) -> bytes:
    out = b""
    for name, filename, data, mime in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if mime is not None:
            out += f"Content-Type: {mime}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def chunked(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def read(
    body: bytes, folder: Path, limits: FormLimits | None = None, chunk: int = 1000
) -> ReceivedForm:
    limits = limits or FormLimits(max_file_bytes=1_000_000)
    return asyncio.run(read_multipart(chunked(body, chunk), CONTENT_TYPE, folder, limits))


def test_fields_and_files(tmp_path: Path) -> None:
    body = encode(
        [
            ("text", None, "héllo ☃".encode(), None),
            ("files", "a.png", b"\x89PNG" * 1000, "image/png"),
            ("upload_id", None, b"abc", None),
            ("files", "b.bin", b"x", "vidéo/mp4"),
            ("files", "", b"", "application/octet-stream"),  # an empty file input
        ]
    )
    form = read(body, tmp_path)
    assert form.fields == {"text": "héllo ☃", "upload_id": "abc"}
    assert [(f.filename, f.mime, f.size) for f in form.files] == [
        ("a.png", "image/png", 4000),
        ("b.bin", None, 1),  # a MIME type no header can carry is dropped (guessed later)
    ]
    assert form.files[0].path.read_bytes() == b"\x89PNG" * 1000
    assert all(f.path.parent == tmp_path for f in form.files)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(1, 700), data=st.binary(max_size=3000))
def test_any_chunking_gives_the_same_form(
    tmp_path_factory: pytest.TempPathFactory, chunk: int, data: bytes
) -> None:
    folder = tmp_path_factory.mktemp("chunks")
    body = encode([("text", None, b"t", None), ("files", "f", data or b"0", None)])
    form = read(body, folder, chunk=chunk)
    assert form.fields == {"text": "t"}
    assert form.files[0].path.read_bytes() == (data or b"0")


@pytest.mark.parametrize(
    ("parts", "error", "message"),
    [
        ([("files", "big", b"x" * 1001, None)], TooLarge, "1000-byte limit"),
        ([("files", "a", b"x" * 600, None), ("files", "b", b"x" * 600, None)], TooLarge, "limit"),
        ([(f"f{i}", None, b"v", None) for i in range(9)], TooLarge, "at most 8 fields"),
        ([("text", None, b"t" * 20_000, None)], TooLarge, "over 16384 bytes"),
        ([("files", str(i), b"x", None) for i in range(65)], TooLarge, "at most 64 files"),
        ([("files", "empty.bin", b"", None)], InvalidInput, "empty"),
        ([("attachment", "a", b"x", None)], InvalidInput, "'files' field"),
        ([("text", None, b"\xff\xfe", None)], InvalidInput, "not UTF-8"),
    ],
)
def test_limits_and_refusals(
    tmp_path: Path, parts: list[Part], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        read(encode(parts), tmp_path, FormLimits(max_file_bytes=1000))


def test_a_body_over_every_allowance_is_refused_whatever_it_holds(tmp_path: Path) -> None:
    # Empty file inputs count as no file, but their framing and headers still cost bytes.
    limits = FormLimits(max_file_bytes=1000, max_files=1, max_fields=1)
    padded = (
        f"--{BOUNDARY}\r\n".encode()
        + (
            f'Content-Disposition: form-data; name="files"; filename=""\r\nX-Pad: {"p" * 3000}'
            f"\r\n\r\n\r\n--{BOUNDARY}\r\n"
        ).encode()
        * 100
    )
    assert len(padded) > limits.max_body_bytes
    with pytest.raises(TooLarge, match="limit"):
        read(padded, tmp_path, limits)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b""),  # no boundary
        ("text/plain", b""),
        (CONTENT_TYPE, f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx".encode()),
        (CONTENT_TYPE, f"--{BOUNDARY}\r\nContent-Disposition: attachment; name=a\r\n\r\n".encode()),
        (CONTENT_TYPE, encode([("text", None, b"t", None)])[:-10]),  # cut short
    ],
)
def test_malformed_bodies(tmp_path: Path, content_type: str, body: bytes) -> None:
    limits = FormLimits(max_file_bytes=1000)
    with pytest.raises(InvalidInput):
        asyncio.run(read_multipart(chunked(body, 50), content_type, tmp_path, limits))


def test_a_refused_upload_leaves_its_files_closed(tmp_path: Path) -> None:
    body = encode([("files", "a", b"x" * 500, None), ("files", "b", b"x" * 600, None)])
    with pytest.raises(TooLarge):
        read(body, tmp_path, FormLimits(max_file_bytes=1000), chunk=100)
    # What was written is there for the caller to remove (it owns the folder).
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 1000

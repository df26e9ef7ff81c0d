"""Pure helpers for header values: MIME types, lengths, ranges, redirect targets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.errors import InvalidInput
from swarmfeed.http.headers import (
    RangeNotSatisfiable,
    parse_content_length,
    parse_range,
    safe_content_type,
    safe_local_path,
)

HUGE = "9" * 4301  # int() refuses strings of more than 4,300 digits


@pytest.mark.parametrize(
    ("mime", "expected"),
    [
        ("video/mp4", "video/mp4"),
        (" Image/PNG ", "image/png"),
        ("application/vnd.ms-excel", "application/vnd.ms-excel"),
        ("text/plain; charset=utf-8", "application/octet-stream"),  # no smuggled parameters
        ("vidéo/mp4", "application/octet-stream"),
        ("video/mp4\r\nSet-Cookie: x=1", "application/octet-stream"),
        ("text/html ☃", "application/octet-stream"),
        ("video", "application/octet-stream"),
        ("", "application/octet-stream"),
        (None, "application/octet-stream"),
        ("a/" + "b" * 200, "application/octet-stream"),
    ],
)
def test_safe_content_type(mime: str | None, expected: str) -> None:
    assert safe_content_type(mime) == expected


@given(st.text(max_size=300))
def test_safe_content_type_is_always_a_latin1_header_value(mime: str) -> None:
    shown = safe_content_type(mime)
    shown.encode("latin-1")
    assert "\r" not in shown and "\n" not in shown and ";" not in shown


def test_content_length() -> None:
    assert parse_content_length(None) is None
    assert parse_content_length("0") == 0
    assert parse_content_length(" 1234 ") == 1234
    for bad in ("", "-1", "1e6", "²", "12 34", HUGE, "0x10"):
        with pytest.raises(InvalidInput):
            parse_content_length(bad)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-", (0, 1000)),
        ("bytes=0-99", (0, 100)),
        ("bytes=100-199", (100, 200)),
        ("bytes=900-5000", (900, 1000)),
        ("bytes=-100", (900, 1000)),
        ("bytes=-5000", (0, 1000)),
        (f"bytes=0-{HUGE}", (0, 1000)),
        (f"bytes=-{HUGE}", (0, 1000)),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header", ["items=0-1", "bytes=-", "bytes=0-1,5-6", "bytes=²-", "bytes=0-٣", "bytes =0-1"]
)
def test_malformed_ranges(header: str) -> None:
    with pytest.raises(InvalidInput):
        parse_range(header, 1000)


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=5-2", f"bytes={HUGE}-", f"bytes={HUGE}-1"]
)
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, 1000)
    assert caught.value.size == 1000


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/"),
        ("/following", "/following"),
        ("/authors/ab?before=1:2:3:ab", "/authors/ab?before=1:2:3:ab"),
        ("/\t/evil.com", "/%09/evil.com"),  # browsers drop tabs: "//evil.com"
        ("/\n/evil.com", "/%0A/evil.com"),
        ("//evil.com", "/evil.com"),
        ("/\\evil.com", "/evil.com"),
        ("/\\/evil.com", "/evil.com"),
        ("/ü", "/%C3%BC"),
        ("/%C3%BC", "/%C3%BC"),
        ("/a%zz", "/a%25zz"),
        ("/?a=%E2%82%AC", "/?a=%E2%82%AC"),
        ("/x y", "/x%20y"),
        ("https://evil.com/", "/"),
        ("evil.com", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_local_path(path: str | None, expected: str) -> None:
    assert safe_local_path(path) == expected


@given(st.text(max_size=200))
def test_safe_local_path_stays_on_this_origin(path: str) -> None:
    target = safe_local_path("/" + path)
    target.encode("ascii")
    assert target.startswith("/") and not target.startswith("//")
    assert not any(ch in target for ch in "\\\t\r\n ")
    assert safe_local_path(target) == target

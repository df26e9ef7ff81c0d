"""Pure helpers of the API: Range parsing and timeline cursors."""

from __future__ import annotations

import pytest

from swarmfeed.errors import InvalidInput
from swarmfeed.http.headers import parse_range
from swarmfeed.node.views import parse_cursor


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
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=5-2", "items=0-1", "bytes=-", "bytes=0-1,5-6"]
)
def test_bad_ranges(header: str) -> None:
    with pytest.raises(InvalidInput):
        parse_range(header, 1000)


def test_cursor() -> None:
    assert parse_cursor(None) is None
    assert parse_cursor("1700000000") == (1700000000, -1, -1, "")
    assert parse_cursor("1700000000:1699999999:3:abcd") == (1700000000, 1699999999, 3, "abcd")
    for bad in ("yesterday", "1:2", "1:2:3", "9" * 20, "²", "-5", "1:-2:3:x", "9" * 4400):
        with pytest.raises(InvalidInput):
            parse_cursor(bad)

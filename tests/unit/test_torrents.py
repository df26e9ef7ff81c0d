"""The metadata check of feed page torrents (node/torrents.py, protocol.md §5).

It runs on a magnet's info dict before any piece of the page is downloaded: one small file,
named as a page of the followed author, and nothing else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from swarmfeed.core import bencoding
from swarmfeed.core.feed import MAX_PAGE_BYTES
from swarmfeed.engine.creator import create_torrent
from swarmfeed.errors import BencodeError, InvalidInput, TooLarge
from swarmfeed.node.torrents import check_page_metadata

AUTHOR = bytes(range(32))
OTHER = bytes(range(1, 33))
PAGE_NAME = f"swarmfeed-{AUTHOR.hex()[:16]}-page-3.bencode"


def page_info(**changes: Any) -> dict[str, Any]:
    """A single-file v1 info dict of a page; ``None`` in ``changes`` removes a key."""
    info: dict[str, Any] = {
        "name": PAGE_NAME,
        "length": 1234,
        "piece length": 16384,
        "pieces": hashlib.sha1(b"page").digest(),
    }
    for key, value in changes.items():
        key = key.replace("_", " ")
        if value is None:
            info.pop(key, None)
        else:
            info[key] = value
    return info


def check(info: dict[str, Any] | bytes, author: bytes = AUTHOR) -> None:
    raw = info if isinstance(info, bytes) else bencoding.encode(info)
    check_page_metadata(raw, author)


def test_accepts_a_page_torrent() -> None:
    check(page_info())
    check(page_info(name=f"swarmfeed-{AUTHOR.hex()[:16]}-page-0.bencode", length=1))
    check(page_info(length=MAX_PAGE_BYTES))


def test_accepts_the_info_dict_the_shelf_creates(tmp_path: Path) -> None:
    page = tmp_path / PAGE_NAME
    page.write_bytes(bencoding.encode({"version": 1, "posts": []}))
    created = create_torrent(page, v1_only=True)
    check_page_metadata(created.info_section, AUTHOR)
    with pytest.raises(InvalidInput, match="not a page of this author"):
        check_page_metadata(created.info_section, OTHER)


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        # another author's page, or no page at all
        (f"swarmfeed-{OTHER.hex()[:16]}-page-3.bencode", InvalidInput, "not a page of this"),
        ("swarmfeed-page-3.bencode", InvalidInput, "not a page of this author"),
        (f"swarmfeed-{AUTHOR.hex()[:16]}-page-3.torrent", InvalidInput, "not a page"),
        (f"x-swarmfeed-{AUTHOR.hex()[:16]}-page-3.bencode", InvalidInput, "not a page"),
        # right prefix and suffix, but not one safe file name
        (f"swarmfeed-{AUTHOR.hex()[:16]}-page-3/../../evil.bencode", InvalidInput, "safe"),
        (f"swarmfeed-{AUTHOR.hex()[:16]}-page-..bencode", InvalidInput, "safe"),
        (f"swarmfeed-{AUTHOR.hex()[:16]}-page-3\\..\\x.bencode", InvalidInput, "safe"),
        (f"swarmfeed-{AUTHOR.hex()[:16]}-page-3\x00.bencode", InvalidInput, "safe"),
        # over the 255-byte name limit
        (f"swarmfeed-{AUTHOR.hex()[:16]}-page-{'9' * 250}.bencode", TooLarge, "limit"),
    ],
)
def test_refuses_names(name: str, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        check(page_info(name=name))


def test_refuses_a_name_that_is_not_utf8_text() -> None:
    with pytest.raises(BencodeError, match="UTF-8"):
        check(page_info(name=PAGE_NAME.encode() + b"\xff"))
    with pytest.raises(BencodeError, match="page name"):
        check(page_info(name=7))
    with pytest.raises(BencodeError, match="page name"):
        check(page_info(name=None))


def test_refuses_more_than_one_file() -> None:
    files = [{"length": 10, "path": [b"a.bencode"]}, {"length": 10, "path": [b"b.bencode"]}]
    with pytest.raises(InvalidInput, match="exactly one file"):
        check(page_info(files=files, length=None))
    # A "files" list is refused even with a single entry (a folder, not a file).
    with pytest.raises(InvalidInput, match="exactly one file"):
        check(page_info(files=files[:1], length=None))


def test_refuses_sizes() -> None:
    with pytest.raises(TooLarge, match="limit"):
        check(page_info(length=MAX_PAGE_BYTES + 1))
    with pytest.raises(BencodeError, match="at least 1"):
        check(page_info(length=0))
    with pytest.raises(BencodeError, match="at least 1"):
        check(page_info(length=-5))
    with pytest.raises(BencodeError, match="page length"):
        check(page_info(length=None))
    with pytest.raises(BencodeError, match="page length"):
        check(page_info(length=b"1234"))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not bencode",
        b"le",  # a list, not a dict
        b"i5e",
        b"d4:name3:abce" + b"x",  # trailing garbage
        b"d6:lengthi1e4:name3:abce",  # keys out of order (non-canonical)
    ],
)
def test_refuses_malformed_info(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        check(raw)

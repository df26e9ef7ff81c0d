"""What the CLI prints, from the API's JSON: sizes, rates and names as the web UI shows them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.cli.render import (
    export_filename,
    printable,
    status_text,
    torrents_text,
    transfer_figures,
)

ADDRESS = "magnet:?xs=urn:btpk:" + "ab" * 32


def torrent(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "label": "clip.webm — Ana",
        "kind": "media",
        "state": "seeding",
        "seeding": True,
        "progress": 1.0,
        "total_wanted": 3 * 1024 * 1024,
        "total_done": 3 * 1024 * 1024,
        "peers": 1,
        "download_rate": 0,
        "upload_rate": 3,
        "total_upload": 1536,
        "infohash": "5c" * 20,
    }
    return row | changes


def test_status_shows_the_whole_address_and_sizes_in_words() -> None:
    info = {
        "address": ADDRESS,
        "dht_nodes": 1,
        "torrents": 3,
        "seeding": 2,
        "peers": 4,
        "follows": 1,
        "posts": 2,
        "bytes_up": 5 * 1024 * 1024,
        "bytes_down": 300,
        "upload_rate": 2 * 1024 * 1024,
        "download_rate": 12,
    }
    assert status_text(info, "http://127.0.0.1:8080").splitlines() == [
        f"author      {ADDRESS}",
        "node        http://127.0.0.1:8080",
        "DHT         1 node",
        "torrents    3 (2 seeding)",
        "peers       4",
        "following   1 author",
        "own posts   2",
        "uploaded    5.0 MiB  (now 2.0 MiB/s)",
        "downloaded  300 Bytes  (now —)",
    ]


def test_torrents_are_named_with_state_and_traffic() -> None:
    rows = [
        torrent(),
        torrent(
            label="feed page of Ana",
            kind="page",
            state="downloading_metadata",
            seeding=False,
            progress=0.25,
            total_wanted=600,
            peers=2,
            download_rate=1536 * 1024,
        ),
    ]
    assert torrents_text(rows).splitlines() == [
        "clip.webm — Ana (media)",
        "  seeding · 3.0 MiB · 1 peer · ↓ — · ↑ — · served 1.5 KiB",
        "  infohash " + "5c" * 20,
        "feed page of Ana (page)",
        "  downloading metadata 25% · 600 Bytes · 2 peers · ↓ 1.5 MiB/s · ↑ — · served 1.5 KiB",
        "  infohash " + "5c" * 20,
    ]
    assert torrents_text([]) == "no torrents yet"


def test_torrents_say_how_many_more_the_node_holds() -> None:
    rows = [torrent(), torrent(label="clip.webm — Bo")]
    assert torrents_text(rows, total=2) == torrents_text(rows)
    assert torrents_text(rows, total=5).splitlines()[-1] == (
        "… and 3 more of 5 torrents (--limit shows more)"
    )


def test_watch_figures_use_the_same_units() -> None:
    row = torrent(total_done=1024 * 1024, download_rate=2 * 1024 * 1024, upload_rate=100)
    assert transfer_figures(row) == ("1.0 MiB / 3.0 MiB", "2.0 MiB/s", "—")


def test_escape_sequences_from_peers_do_not_reach_the_terminal() -> None:
    assert printable("Ana\x1b]0;pwned\x07") == "Ana\ufffd]0;pwned\ufffd"
    assert printable("two\nlines") == "two\ufffdlines"
    assert printable("two\nlines", newlines=True) == "two\nlines"
    assert printable("right-to-left \u202e override") == "right-to-left \ufffd override"
    assert printable("café 🎵") == "café 🎵"


@given(st.text())
def test_printable_output_has_no_control_characters(text: str) -> None:
    shown = printable(text)
    assert len(shown) == len(text)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in shown)


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="post-3-0123abcd.torrent"', "post-3-0123abcd.torrent"),
        ('attachment; filename="../evil.torrent"', "ab" * 20 + ".torrent"),
        ('attachment; filename=".hidden.torrent"', "ab" * 20 + ".torrent"),
        ('attachment; filename="clip.exe"', "ab" * 20 + ".torrent"),
        (None, "ab" * 20 + ".torrent"),
    ],
)
def test_export_file_name_is_a_plain_name(disposition: str | None, expected: str) -> None:
    assert export_filename(disposition, "AB" * 20) == expected

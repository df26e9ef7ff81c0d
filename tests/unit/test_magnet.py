"""Magnet links (protocol.md §8; BEP 9, BEP 46, BEP 52)."""

from __future__ import annotations

import base64
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.magnet import (
    MAX_PEER_HINTS,
    Magnet,
    format_peer_address,
    parse_magnet,
    parse_peer_address,
    torrent_magnet,
)
from swarmfeed.errors import InvalidInput

IH = bytes(range(20))
IH2 = bytes(range(100, 132))
PK = bytes(range(200, 232))


def test_torrent_magnet_format() -> None:
    assert torrent_magnet(IH, IH2, "post-0") == (
        f"magnet:?xt=urn:btih:{IH.hex()}&xt=urn:btmh:1220{IH2.hex()}&dn=post-0"
    )
    assert torrent_magnet(IH, None, None) == f"magnet:?xt=urn:btih:{IH.hex()}"


def test_torrent_magnet_encodes_the_name() -> None:
    link = torrent_magnet(IH, None, "a b&c=d/é?#+")
    assert link.endswith("&dn=a%20b%26c%3Dd%2F%C3%A9%3F%23%2B")
    assert parse_magnet(link).name == "a b&c=d/é?#+"


@pytest.mark.parametrize(
    ("infohash", "infohash_v2"), [(IH[:19], None), (IH + b"\x00", None), (IH, IH2[:31])]
)
def test_torrent_magnet_refuses_bad_lengths(infohash: bytes, infohash_v2: bytes | None) -> None:
    with pytest.raises(InvalidInput):
        torrent_magnet(infohash, infohash_v2, None)


@given(
    st.binary(min_size=20, max_size=20),
    st.none() | st.binary(min_size=32, max_size=32),
    st.none() | st.text(st.characters(codec="utf-8"), max_size=30),
)
def test_round_trip(infohash: bytes, infohash_v2: bytes | None, name: str | None) -> None:
    parsed = parse_magnet(torrent_magnet(infohash, infohash_v2, name))
    assert parsed == Magnet(infohash, infohash_v2, None, b"", name)


def test_parse_full_torrent_link() -> None:
    link = f"magnet:?xt=urn:btih:{IH.hex()}&xt=urn:btmh:1220{IH2.hex()}&dn=post-0&tr=udp%3A%2F%2Fx"
    assert parse_magnet(link) == Magnet(IH, IH2, None, b"", "post-0")


@pytest.mark.parametrize(
    "link",
    [
        f"magnet:?xt=urn:btih:{IH.hex().upper()}",
        f"MAGNET:?XT=URN:BTIH:{IH.hex()}",
        f"  magnet:?xt=urn:btih:{IH.hex()}  ",
        f"magnet:?xt=urn:btih:{base64.b32encode(IH).decode()}",
        f"magnet:?xt=urn:btih:{base64.b32encode(IH).decode().lower()}",
        f"magnet:?xt=urn:btih:{IH.hex()}&xt=urn:btih:{IH.hex()}",
        f"magnet:?xt=urn:sha1:abc&xt=urn:btih:{IH.hex()}",
        f"magnet:?xt=urn:btih:{IH.hex()}&xs=http%3A%2F%2Fexample.com%2Fa.torrent",
    ],
)
def test_parse_v1_variants(link: str) -> None:
    assert parse_magnet(link).infohash == IH


def test_parse_v2_only() -> None:
    parsed = parse_magnet(f"magnet:?xt=urn:btmh:1220{IH2.hex().upper()}")
    assert parsed == Magnet(None, IH2, None, b"", None)


def test_parse_author_link_with_salt() -> None:
    parsed = parse_magnet(f"magnet:?xs=urn:btpk:{PK.hex()}&s=73616c74")
    assert parsed == Magnet(None, None, PK, b"salt", None)
    assert parse_magnet(f"magnet:?xs=urn:btpk:{PK.hex()}&s=").salt == b""


def test_lenient_query_syntax() -> None:
    assert parse_magnet(f"magnet:?xt=urn:btih:{IH.hex()}&&ws&").infohash == IH


def test_first_name_wins() -> None:
    assert parse_magnet(f"magnet:?xt=urn:btih:{IH.hex()}&dn=a&dn=b").name == "a"


@pytest.mark.parametrize(
    "link",
    [
        "",
        "magnet:",
        "magnet:?",
        "magnet:?dn=x",
        "magnet:?xt=urn:sha1:abc",
        f"http://x/?xt=urn:btih:{IH.hex()}",
        f"magnet://host?xt=urn:btih:{IH.hex()}",
        f"magnet:path?xt=urn:btih:{IH.hex()}",
        f"xt=urn:btih:{IH.hex()}",
        f"magnet:?xt=urn:btih:{IH.hex()[:-1]}",
        f"magnet:?xt=urn:btih:{IH.hex()}0",
        f"magnet:?xt=urn:btih:{IH.hex()[:-1]}g",
        f"magnet:?xt=urn:btih:{'A' * 31}",
        f"magnet:?xt=urn:btih:{'1' * 32}",
        f"magnet:?xt=urn:btih:{IH.hex()}&xt=urn:btih:{'0' * 40}",
        f"magnet:?xt=urn:btmh:1220{IH2.hex()[:-2]}",
        f"magnet:?xt=urn:btmh:1114{IH2.hex()}",
        f"magnet:?xt=urn:btmh:{IH2.hex()}",
        f"magnet:?xt=urn:btmh:1220{IH2.hex()}00",
        f"magnet:?xs=urn:btpk:{PK.hex()[:-2]}",
        f"magnet:?xs=urn:btpk:{PK.hex()}&xs=urn:btpk:{'0' * 64}",
        f"magnet:?xs=urn:btpk:{PK.hex()}&s=xyz",
        f"magnet:?xs=urn:btpk:{PK.hex()}&s=abc",
        f"magnet:?xs=urn:btpk:{PK.hex()}&s=00&s=01",
        f"magnet:?xt=urn:btih:{IH.hex()}&dn=%ff",
        "magnet:?xt",
        "magnet:?xt=&xs=",
        "magnet://[::1?xt=urn:btih:00",
    ],
)
def test_parse_rejects(link: str) -> None:
    with pytest.raises(InvalidInput):
        parse_magnet(link)


def test_parse_rejects_non_text() -> None:
    with pytest.raises(InvalidInput):
        parse_magnet(b"magnet:?")  # type: ignore[arg-type]


# x.pe peer hints (BEP 9) --------------------------------------------------------------------


def test_peer_hints_follow_the_hashes_and_name() -> None:
    link = torrent_magnet(IH, IH2, "post-0", [("127.0.1.10", 6881), ("2001:db8::1", 7000)])
    assert link == (
        f"magnet:?xt=urn:btih:{IH.hex()}&xt=urn:btmh:1220{IH2.hex()}&dn=post-0"
        "&x.pe=127.0.1.10:6881&x.pe=%5B2001:db8::1%5D:7000"
    )
    assert parse_magnet(link).peers == (("127.0.1.10", 6881), ("2001:db8::1", 7000))


def test_no_peers_no_hint() -> None:
    assert "x.pe" not in torrent_magnet(IH, None, "page", [])


@pytest.mark.parametrize(
    ("host", "port", "shown", "parsed"),
    [
        ("10.0.0.1", 1, "10.0.0.1:1", "10.0.0.1"),
        ("::1", 65535, "[::1]:65535", "::1"),
        ("2001:0db8:0000::0001", 80, "[2001:db8::1]:80", "2001:db8::1"),
    ],
)
def test_format_peer_address(host: str, port: int, shown: str, parsed: str) -> None:
    assert format_peer_address(host, port) == shown
    assert parse_peer_address(shown) == (parsed, port)


@pytest.mark.parametrize(
    ("host", "port"), [("example.org", 80), ("1.2.3.4", 0), ("1.2.3.4", 65536), ("", 1)]
)
def test_format_peer_address_refuses(host: str, port: int) -> None:
    with pytest.raises(InvalidInput):
        format_peer_address(host, port)


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4",
        "1.2.3.4:",
        "1.2.3.4:0",
        "1.2.3.4:70000",
        "host:80",
        "[::1:80",
        "1.2.3.4:８０",
        "1.2.3.4:123456",
        "::1:80x",
        "",
    ],
)
def test_bad_peer_hints_are_left_out(text: str) -> None:
    assert parse_peer_address(text) is None
    assert parse_magnet(f"magnet:?xt=urn:btih:{IH.hex()}&x.pe={text}").peers == ()


def test_peer_hints_are_bounded_and_unique() -> None:
    hints = "".join(f"&x.pe=10.0.0.{i % 40}:1" for i in range(100))
    peers = parse_magnet(f"magnet:?xt=urn:btih:{IH.hex()}{hints}").peers
    assert len(peers) == len(set(peers)) <= MAX_PEER_HINTS


@given(
    st.lists(st.tuples(st.ip_addresses().map(str), st.integers(1, 65535)), max_size=MAX_PEER_HINTS)
)
def test_peer_hints_round_trip(peers: list[tuple[str, int]]) -> None:
    link = torrent_magnet(IH, None, None, peers)
    expected: list[tuple[str, int]] = []
    for host, port in peers:
        entry = (ipaddress.ip_address(host).compressed, port)
        if entry not in expected:
            expected.append(entry)
    assert list(parse_magnet(link).peers) == expected

"""The pure helpers behind the pages: escaping with links, times, QR codes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from swarmfeed.api.routers.events import encode_event
from swarmfeed.core.identity import short_key
from swarmfeed.node.events import FollowChanged, MediaComplete, PostAdded
from swarmfeed.web import author_hue
from swarmfeed.web.render import (
    iso_time,
    linkify,
    media_kind,
    qr_svg,
    time_ago,
)


def test_linkify_escapes_markup() -> None:
    shown = linkify('<script>alert(1)</script><img src=x onerror="alert(2)">')
    assert isinstance(shown, Markup)
    assert "<script" not in shown and "<img" not in shown
    assert "&lt;script&gt;" in shown


def test_linkify_makes_http_links_that_open_safely() -> None:
    shown = str(linkify("see https://example.org/a?b=1&c=2."))
    assert shown == (
        'see <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" '
        'target="_blank">https://example.org/a?b=1&amp;c=2</a>.'
    )


def test_linkify_leaves_other_schemes_as_text() -> None:
    for text in ("javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://example.org/"):
        assert "<a " not in linkify(text)


def test_linkify_cannot_break_out_of_the_href() -> None:
    shown = str(linkify('https://e.org/"onmouseover="alert(1)'))
    assert shown.count('"') == 6  # href, rel and target values only
    assert "onmouseover=" not in shown.split(">")[0]


@given(st.text(max_size=200))
def test_linkify_never_lets_a_tag_through(text: str) -> None:
    shown = str(linkify(text))
    tags = re.findall(r"<(/?[a-zA-Z]+)", shown)
    assert set(tags) <= {"a", "/a"}
    # Removing our anchors leaves the escaped text: no quote or angle bracket from the input.
    bare = re.sub(r"<a [^>]*>|</a>", "", shown)
    assert "<" not in bare and ">" not in bare and '"' not in bare


def test_times_and_keys() -> None:
    assert time_ago(1000, now=1010) == "just now"
    assert time_ago(1000, now=1000 + 300) == "5 min ago"
    assert time_ago(1000, now=1000 + 7200) == "2 h ago"
    assert time_ago(0, now=3 * 86400) == "3 d ago"
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert short_key("ab" * 32) == "abababab…abab"


def test_media_kind_and_hue() -> None:
    assert media_kind("image/png") == "image"
    assert media_kind("video/webm") == "video"
    assert media_kind("audio/ogg") == "audio"
    assert media_kind("application/pdf") == "file"
    assert media_kind("text/html") == "file"
    assert author_hue("ff" * 32) == int("ffffff", 16) % 12
    assert 0 <= author_hue("00" * 32) < 12


def test_qr_code_is_inline_svg_without_script() -> None:
    svg = str(qr_svg("magnet:?xs=urn:btpk:" + "ab" * 32))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "script" not in svg and "href" not in svg


def test_server_sent_events_are_one_message_each() -> None:
    assert encode_event(PostAdded("p" * 64, "a" * 64, 3)) == (
        f'event: post\ndata: {{"id": "{"p" * 64}", "author": "{"a" * 64}", "seq": 3}}\n\n'
    )
    assert encode_event(FollowChanged("a" * 64, "synced")).startswith("event: follow\n")
    assert (
        encode_event(MediaComplete("c" * 40))
        == f'event: media\ndata: {{"infohash": "{"c" * 40}"}}\n\n'
    )

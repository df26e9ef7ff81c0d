"""Follow-list files: both formats, kinds, line numbers of bad entries (core/followfile)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.followfile import (
    MAX_LIST_BYTES,
    FollowKind,
    ListEntry,
    ListFormat,
    format_follow_list,
    parse_follow_list,
)
from swarmfeed.core.identity import author_address
from swarmfeed.errors import InvalidInput

A = "aa" * 32
B = "bb" * 32
C = "cc" * 32


def address(key: str) -> str:
    return author_address(bytes.fromhex(key))


def test_lines_take_addresses_hex_kinds_and_comments() -> None:
    text = f"""# taken over from another box
{address(A)}
{B.upper()} mirror   # the big one
mirror {address(C)}

"""
    parsed = parse_follow_list(text)
    assert parsed.problems == []
    assert parsed.entries == [
        ListEntry(A, FollowKind.FOLLOW),
        ListEntry(B, FollowKind.MIRROR),
        ListEntry(C, FollowKind.MIRROR),
    ]


def test_bad_lines_are_reported_by_number_and_good_ones_kept() -> None:
    text = f"{A}\nnot an address\n\n{B} hoard\n{C} follow extra\n{address(B)}\n"
    parsed = parse_follow_list(text)
    assert [p.line for p in parsed.problems] == [2, 4, 5]
    assert "hoard" in parsed.problems[1].reason
    assert parsed.entries == [ListEntry(A), ListEntry(B)]


def test_the_default_kind_applies_to_entries_without_one() -> None:
    parsed = parse_follow_list(f"{A}\n{B} follow\n", default=FollowKind.MIRROR)
    assert parsed.entries == [ListEntry(A, FollowKind.MIRROR), ListEntry(B, FollowKind.FOLLOW)]


def test_an_author_listed_twice_keeps_the_last_kind() -> None:
    parsed = parse_follow_list(f"{A}\n{B}\n{A} mirror\n")
    assert parsed.entries == [ListEntry(B), ListEntry(A, FollowKind.MIRROR)]


def test_json_follow_file_with_line_numbers() -> None:
    text = (
        '{"version": 2,\n'
        ' "follows": [\n'
        f'  {{"author": "{A}", "kind": "mirror"}},\n'
        '  {"author": "nope"},\n'
        f'  {{"author": "{address(B)}"}},\n'
        f'  {{"author": "{C}", "kind": 3}}\n'
        " ]}\n"
    )
    parsed = parse_follow_list(text)
    assert parsed.entries == [ListEntry(A, FollowKind.MIRROR), ListEntry(B)]
    assert [p.line for p in parsed.problems] == [4, 6]


def test_json_lists_of_strings_and_version_1_files() -> None:
    strings = json.dumps([A, address(B), 7], indent=1)
    parsed = parse_follow_list(strings)
    assert parsed.entries == [ListEntry(A), ListEntry(B)]
    assert [p.line for p in parsed.problems] == [4]
    version_1 = json.dumps({"version": 1, "follows": [{"author": A}]})
    assert parse_follow_list(version_1).entries == [ListEntry(A)]


def test_broken_json_reports_where() -> None:
    parsed = parse_follow_list('{"follows": [\n  "x",\n  oops\n]}')
    assert parsed.entries == []
    assert parsed.problems[0].line == 3 and "not valid JSON" in parsed.problems[0].reason
    other = parse_follow_list('{"authors": []}')
    assert other.problems[0].line == 1


def test_oversized_lists_are_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_follow_list("x" * (MAX_LIST_BYTES + 1))


keys = st.binary(min_size=32, max_size=32).map(bytes.hex)
entries = st.lists(
    st.builds(ListEntry, keys, st.sampled_from(list(FollowKind))),
    unique_by=lambda e: e.author,
    max_size=20,
)


@given(entries, st.sampled_from(list(ListFormat)))
def test_export_then_import_is_the_same_list(listed: list[ListEntry], fmt: ListFormat) -> None:
    text = format_follow_list(listed, fmt)
    parsed = parse_follow_list(text)
    assert parsed.problems == []
    assert parsed.entries == listed
    assert parse_follow_list(text, fmt=fmt).entries == listed

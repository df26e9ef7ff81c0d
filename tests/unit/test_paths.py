"""Safe path components (protocol.md §4): every way a path could escape or misbehave."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.paths import check_component, check_relative_path, safe_join
from swarmfeed.errors import UnsafePath


@pytest.mark.parametrize(
    "part", ["a", "photo.jpg", ".hidden", "...", "a b", "ünïcödé", "x" * 255, "é" * 127, "-"]
)
def test_safe_components(part: str) -> None:
    assert check_component(part, "field") == part


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        ("", "empty"),
        (".", "not allowed"),
        ("..", "not allowed"),
        ("a/b", "'/'"),
        ("/", "'/'"),
        ("a\\b", "a '\\'"),
        ("..\\x", "a '\\'"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\rb", "control"),
        ("\t", "control"),
        ("\x1b[31m", "control"),
        ("a\x7fb", "control"),
        ("a\x85b", "control"),
        ("C:", "':'"),
        ("file:stream", "':'"),
        ("x" * 256, "256 bytes"),
        ("é" * 128, "256 bytes"),
        ("\udc80", "UTF-8"),
    ],
)
def test_unsafe_components(part: str, reason: str) -> None:
    with pytest.raises(UnsafePath, match="my field") as info:
        check_component(part, "my field")
    assert reason in str(info.value)


def test_component_must_be_text() -> None:
    with pytest.raises(UnsafePath):
        check_component(b"a", "f")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("a", ("a",)),
        ("a/b.txt", ("a", "b.txt")),
        ("/".join("abcdefgh"), tuple("abcdefgh")),
        (".a/..b/c..", (".a", "..b", "c..")),
    ],
)
def test_safe_relative_paths(path: str, parts: tuple[str, ...]) -> None:
    assert check_relative_path(path, "f") == parts


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("\\\\server\\share", "absolute"),
        ("\\windows", "absolute"),
        ("../etc/passwd", "'..'"),
        ("a/../../b", "'..'"),
        ("a/./b", "'.'"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("C:/x", "':'"),
        ("C:\\x", "':'"),
        ("a\\..\\b", "a '\\'"),
        ("/".join("abcdefghi"), "9 components"),
        ("a/b\x00", "control"),
        ("a/" + "x" * 256, "256 bytes"),
    ],
)
def test_unsafe_relative_paths(path: str, reason: str) -> None:
    with pytest.raises(UnsafePath, match="media file path") as info:
        check_relative_path(path, "media file path")
    assert reason in str(info.value)


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=10))
def test_accepted_paths_stay_under_their_root(parts: list[str]) -> None:
    root = PurePosixPath("/srv/root")
    try:
        joined = safe_join(root, parts)
    except UnsafePath:
        return
    assert joined.parts[: len(root.parts)] == root.parts
    assert ".." not in joined.parts
    assert len(joined.parts) == len(root.parts) + len(parts)
    windows = safe_join(PureWindowsPath("C:/root"), parts)
    assert windows.parts[:2] == ("C:\\", "root")
    assert len(windows.parts) == 2 + len(parts)


def test_safe_join() -> None:
    root = Path("/tmp/x")
    joined = safe_join(root, ["a", "b.txt"])
    assert joined == Path("/tmp/x/a/b.txt")
    assert isinstance(joined, Path)
    assert safe_join(root, "a/b.txt") == joined
    assert safe_join(PurePosixPath("rel"), ("c",)) == PurePosixPath("rel/c")


@pytest.mark.parametrize(
    "parts",
    [["..", "x"], ["/etc"], ["a", ""], [], "../x", "/abs", ["C:"], ["a\\..\\.."], ["x"] * 9],
)
def test_safe_join_refuses_escapes(parts: list[str] | str) -> None:
    with pytest.raises(UnsafePath):
        safe_join(Path("/tmp/x"), parts)

"""Sizes, rates and plurals as people read them, one formatting for the CLI and the web UI."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core.units import (
    IDLE,
    IDLE_RATE,
    counted,
    format_rate,
    format_size,
    format_state,
    plural,
)


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 Bytes"),
        (1, "1 Byte"),
        (300, "300 Bytes"),
        (1023, "1023 Bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (4 * 1024 * 1024, "4.0 MiB"),
        (32 * 1024 * 1024, "32.0 MiB"),
        (3 * 1024**3 // 2, "1.5 GiB"),
        (2 * 1024**4, "2.0 TiB"),
        (1536.7, "1.5 KiB"),
    ],
)
def test_sizes_use_binary_units(count: float, shown: str) -> None:
    assert format_size(count) == shown


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (0, IDLE),
        (3, IDLE),
        (IDLE_RATE - 1, IDLE),
        (IDLE_RATE, "1.0 KiB/s"),
        (2 * 1024 * 1024, "2.0 MiB/s"),
        (1536 * 1024, "1.5 MiB/s"),
    ],
)
def test_rates_below_the_idle_threshold_are_idle(rate: float, shown: str) -> None:
    assert format_rate(rate) == shown


@given(st.integers(min_value=0, max_value=2**60))
def test_every_size_is_a_number_and_one_unit(count: int) -> None:
    number, unit = format_size(count).split(" ")
    assert unit in ("Byte", "Bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    assert float(number) < 1024 or unit == "Bytes"


def test_plurals() -> None:
    assert plural(1, "peer") == "peer"
    assert plural(0, "peer") == "peers"
    assert plural(2, "peer") == "peers"
    assert plural(1, "copy", "copies") == "copy"
    assert plural(2.5, "copy", "copies") == "copies"
    assert plural(1.0, "copy", "copies") == "copies"
    assert counted(1, "post") == "1 post"
    assert counted(12, "post") == "12 posts"
    assert counted(0, "DHT node") == "0 DHT nodes"
    assert counted(1, "author") == "1 author"


def test_states_are_words() -> None:
    assert format_state("downloading_metadata") == "downloading metadata"
    assert format_state("seeding") == "seeding"

"""Repeated log lines: a burst per window passes, the rest is counted and reported once."""

from __future__ import annotations

import logging

import pytest

from swarmfeed.core.repeats import RepeatGate
from swarmfeed.server.logs import RepeatFilter


def test_a_burst_passes_then_lines_are_counted_until_the_next_window() -> None:
    gate = RepeatGate(burst=3, window=60.0)
    assert [gate.admit("k", t) for t in (0, 1, 2)] == [(True, 0)] * 3
    assert [gate.admit("k", t) for t in range(3, 50)] == [(False, 0)] * 47
    assert gate.admit("other", 50) == (True, 0)  # keys are independent
    assert gate.admit("k", 60) == (True, 47)  # the next window reports what was held back
    assert gate.admit("k", 61) == (True, 0)


def test_memory_is_bounded_by_the_number_of_keys() -> None:
    gate = RepeatGate(burst=1, window=60.0, max_keys=10)
    for key in range(1000):
        gate.admit(key, 0)
    assert len(gate._windows) == 10
    assert gate.admit(999, 1) == (False, 0)  # recent keys are kept


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RepeatGate(burst=0)


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("swarmfeed.http", logging.WARNING, __file__, 1, msg, args, None)


def test_the_filter_keys_on_the_message_template_and_notes_the_count() -> None:
    now = [0.0]
    repeats = RepeatFilter(RepeatGate(burst=2, window=10.0), clock=lambda: now[0])
    passed = [repeats.filter(record("refused %s", f"10.0.0.{i}")) for i in range(100)]
    assert passed.count(True) == 2
    now[0] = 11.0
    later = record("refused %s", "10.0.0.1")
    assert repeats.filter(later)
    assert later.getMessage() == "refused 10.0.0.1 (and 98 more like it held back)"


def test_one_record_is_judged_once_for_every_handler() -> None:
    repeats = RepeatFilter(RepeatGate(burst=1, window=10.0), clock=lambda: 0.0)
    first = record("same line")
    assert repeats.filter(first) and repeats.filter(first)  # a second handler agrees
    second = record("same line")
    assert not repeats.filter(second) and not repeats.filter(second)

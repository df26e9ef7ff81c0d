"""How often the same log line may repeat: a burst per time window, then a count (no I/O)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class _Window:
    start: float
    seen: int
    suppressed: int


class RepeatGate:
    """Let ``burst`` repeats of a key through per ``window`` seconds and count the rest.

    When a key's next window opens, its first line passes with the number of lines held back
    in the window before, so the log still says how often it happened. At most ``max_keys``
    keys are remembered (the least recently seen is forgotten).
    """

    def __init__(self, burst: int = 5, window: float = 60.0, max_keys: int = 512) -> None:
        if burst < 1 or window <= 0 or max_keys < 1:
            raise ValueError("burst and max_keys must be at least 1 and window positive")
        self.burst = burst
        self.window = window
        self.max_keys = max_keys
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()

    def admit(self, key: Hashable, now: float) -> tuple[bool, int]:
        """Return whether a line with ``key`` passes at ``now``, and how many were held back."""
        window = self._windows.get(key)
        if window is None or now - window.start >= self.window:
            held = window.suppressed if window is not None else 0
            self._windows[key] = _Window(now, 1, 0)
            self._windows.move_to_end(key)
            while len(self._windows) > self.max_keys:
                self._windows.popitem(last=False)
            return True, held
        self._windows.move_to_end(key)
        window.seen += 1
        if window.seen <= self.burst:
            return True, 0
        window.suppressed += 1
        return False, 0

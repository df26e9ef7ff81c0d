"""Counts of what the node did since it started, read by the metrics (node/metrics.py).

Plain counters kept by the parts that do the work: head polls by outcome, heads offered by
peers by outcome, refusals by reason. Labels come from fixed sets (outcome names, exception
class names of swarmfeed's own hierarchy), never from peer data, so their number is bounded.
"""

from __future__ import annotations

from collections import Counter


class Counters:
    """Event counts since start."""

    def __init__(self) -> None:
        self.polls: Counter[str] = Counter()
        """Head checks of followed authors, by outcome (node/follower.Outcome)."""
        self.offers: Counter[str] = Counter()
        """Heads offered by peers (pushes), by outcome: ``accepted``, ``stale``, ``refused``."""
        self.refusals: Counter[str] = Counter()
        """Data refused, by reason (``WrongAuthor``, ``RolledBack``, ``media metadata``, ...)."""

    def refused(self, error: Exception) -> None:
        """Count a refusal by the class of the error that says why."""
        self.refusals[type(error).__name__] += 1

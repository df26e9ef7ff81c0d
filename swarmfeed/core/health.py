"""Whether a running node is healthy, for probes (``swarmfeed health``, Docker, systemd).

A probe asks one question: should this process be restarted or looked at? A node is
unhealthy when it cannot do its job for a reason a restart or a person must fix: its engine is
not running, a long-lived task stopped after a crash or keeps crashing, or it has found no DHT
node long after starting (nothing can be found or announced). Slow syncs, stalled authors and
a publication waiting for its seq check are states of the work, shown in /api/status, not
reasons to restart.
"""

from __future__ import annotations

from dataclasses import dataclass

CRASH_LOOP = 5
"""Crashes after which a task that keeps being restarted counts as failing."""
DHT_GRACE_SECONDS = 300.0
"""How long a node may run without a DHT node before that counts against it."""


@dataclass(frozen=True)
class HealthFacts:
    """What a health check looks at."""

    engine_running: bool
    uptime: float
    dht_nodes: int
    failing_tasks: tuple[str, ...] = ()
    """Tasks that stopped after a crash, or crashed CRASH_LOOP times (a crash loop)."""


@dataclass(frozen=True)
class Health:
    """A verdict and the reasons against it."""

    ok: bool
    reasons: tuple[str, ...]


def judge_health(facts: HealthFacts) -> Health:
    """Return whether a node with ``facts`` is healthy, and why not."""
    reasons: list[str] = []
    if not facts.engine_running:
        reasons.append("the BitTorrent engine is not running")
    if facts.failing_tasks:
        reasons.append("background tasks keep crashing: " + ", ".join(facts.failing_tasks))
    if facts.dht_nodes == 0 and facts.uptime > DHT_GRACE_SECONDS:
        reasons.append(
            f"no DHT node known after {facts.uptime:.0f} s: check the network and --bootstrap"
        )
    return Health(not reasons, tuple(reasons))

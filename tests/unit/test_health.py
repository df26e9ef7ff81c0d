"""Health verdicts for probes (core/health)."""

from __future__ import annotations

from swarmfeed.core.health import DHT_GRACE_SECONDS, HealthFacts, judge_health


def test_a_running_node_with_dht_nodes_is_healthy() -> None:
    assert judge_health(HealthFacts(True, 10_000, 40)).ok
    # Just started: no DHT node yet is not held against it.
    assert judge_health(HealthFacts(True, 5, 0)).ok


def test_each_reason_is_named() -> None:
    verdict = judge_health(HealthFacts(False, DHT_GRACE_SECONDS + 1, 0, ("media-queue",)))
    assert not verdict.ok
    text = " | ".join(verdict.reasons)
    assert "engine is not running" in text
    assert "media-queue" in text
    assert "no DHT node" in text

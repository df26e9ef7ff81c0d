"""A small run of the scale benchmark, so the script cannot rot.

It checks that every part runs and reports consistent figures, never how fast: speed is
judged by the full benchmark's ratios against its own baselines, not by test timings.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_scale.py"


def test_scale_benchmark_smoke_run(
    tmp_path: Path, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = output_dir / "bench-scale-smoke"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--smoke",
            "--parts",
            "catchup,holding,timeline",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path),
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert json.loads((out / "bench_scale.json").read_text()) == report
    timeline = report["timeline"]
    assert timeline["big"]["posts"] == 2000
    for key in ("api_timeline", "api_timeline_page_2", "html_timeline"):
        assert timeline["big"][key]["p99_ms"] >= timeline["big"][key]["p50_ms"] > 0
        assert timeline["p99_ratio"][key] > 0

    catchup = report["catchup"]
    for case, posts in ((catchup["big"], 20), (catchup["baseline"], 10)):
        assert case["posts"] == case["posts_stored"] == case["bundles_complete"] == posts
        assert case["all_bundles_s"] >= case["all_posts_s"] > 0
        assert case["bundles_per_s"] > 0
        assert case["peak_rss_bytes"] > 0
        assert case["dht_sent"]["total"] == (
            case["dht_sent"]["engine_out"] + case["dht_sent"]["bep44_queries"]
        )
    holding = report["holding"]
    assert holding["catchup"]["bundles_complete"] == 3 * 4
    # 3 authors x (4 bundles + 1 page), and the creator's feed (pages of its posts).
    assert holding["torrents"] >= holding["torrents_generated"] == 15
    assert holding["startup"]["restore_done_s"] >= holding["startup"]["api_answers_s"] > 0
    assert holding["startup"]["to_restore"] >= 15
    assert holding["idle"]["rss_bytes"] > 0
    assert holding["idle"]["cpu_percent_of_core"] >= 0
    for key in ("api_timeline", "html_timeline"):
        assert holding["latency"][key]["p99_ms"] >= holding["latency"][key]["p50_ms"] > 0
    fresh = holding["fresh"]
    for name in ("holding", "empty"):
        assert fresh[name]["complete_s"] is not None and fresh[name]["visible_s"] is not None
    assert fresh["ratio"]["visible_s"] > 0 and fresh["ratio"]["complete_s"] > 0
    assert (out / "bench_scale.png").stat().st_size > 0
    # The same number of authors with a tenth of the posts (at least one each), idle beside it.
    sparse = holding["sparse"]
    assert sparse["authors"] == 3 and sparse["per_author"] == 1
    assert sparse["catchup"]["bundles_complete"] == 3
    for idle in (holding["idle"], sparse["idle"], holding["empty_idle"]):
        assert idle["slices"] and idle["dht_packets_per_hour"] >= 0
    assert holding["dht_per_hour_ratio_vs_sparse"] >= 0
    # Without a catch-up part, the plot's left panel shows the idle DHT traffic instead.
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    bench_scale = importlib.import_module("bench_scale")
    bench_scale.plot({"holding": holding}, tmp_path / "holding-only.png")
    assert (tmp_path / "holding-only.png").stat().st_size > 0

"""A small run of the viral benchmark (N = 3, 1 MiB), so the script cannot rot (issue 4).

It checks that every part runs and reports consistent figures, never how fast: speed is
judged by the full benchmark's ratios against its own HTTP baseline, not by test timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_viral.py"
MiB = 1024 * 1024


def test_viral_benchmark_smoke_run(tmp_path: Path, output_dir: Path) -> None:
    out = output_dir / "bench-smoke"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--followers",
            "3",
            "--size",
            "1MiB",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path),
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout[done.stdout.index("{") :])
    assert report == json.loads((out / "bench_viral.json").read_text())
    assert (out / "bench_viral_cdf.png").read_bytes().startswith(b"\x89PNG")

    config, swarm, http = report["config"], report["swarm"], report["http"]
    assert config["followers"] == 3 and config["size_bytes"] == MiB
    assert config["fluid_bound_s"] > 0
    # Every follower got the media through the swarm and through HTTP.
    assert swarm["completed"] == 3 and len(swarm["completions_s"]) == 3
    assert http["completed"] == 3 and len(http["completions_s"]) == 3
    assert all(t > 0 for t in swarm["completions_s"] + http["completions_s"])
    # HTTP costs the creator one copy per follower; the swarm at most that, at least one.
    assert http["creator_upload_copies"] == pytest.approx(3.0, abs=0.05)
    assert 0.9 <= swarm["creator_upload_copies"] <= 3.05
    assert len(swarm["visible_s"]) == 3
    assert swarm["visible_median_s"] <= swarm["visible_p95_s"]
    # At the default 300 s poll interval the post came through the push channel: every
    # follower was subscribed, and the creator sent one message per direct subscriber.
    assert config["poll_interval_s"] == 300.0
    assert swarm["live_followers"] == 3
    assert 1 <= swarm["creator_push_messages"] <= 3
    assert sum(swarm["path_length_histogram"].values()) == 3
    assert swarm["peak_rss_bytes"] > 10 * MiB
    ratio = report["swarm_over_http"]["creator_upload_copies"]
    assert ratio == pytest.approx(swarm["creator_upload_copies"] / http["creator_upload_copies"])
    assert set(report["targets"]) >= {"creator_upload_met", "last_completion_met"}

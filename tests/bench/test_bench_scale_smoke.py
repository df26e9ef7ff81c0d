"""A small run of the scale benchmark, so the script cannot rot (issue 9).

It checks that every part runs and reports consistent figures, never how fast: speed is
judged by the full benchmark's ratios against its own baselines, not by test timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_scale.py"


def test_scale_benchmark_smoke_run(tmp_path: Path, output_dir: Path) -> None:
    out = output_dir / "bench-scale-smoke"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--smoke",
            "--parts",
            "timeline",
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

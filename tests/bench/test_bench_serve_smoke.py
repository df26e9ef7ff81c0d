"""A small run of the serving benchmark, so the script cannot rot (issue 12).

It checks that both modes run and report consistent figures, never which is faster: that is
judged by the full benchmark's ratios against its baseline in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_serve.py"
MiB = 1024 * 1024


def test_serving_benchmark_smoke_run(tmp_path: Path, output_dir: Path) -> None:
    out = output_dir / "bench-serve-smoke"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--smoke",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path),
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert report == json.loads((out / "bench_serve.json").read_text())
    assert (out / "bench_serve.png").read_bytes().startswith(b"\x89PNG")
    config = report["config"]
    assert config["size_bytes"] == MiB and config["downloaders_per_post"] == 2
    for mode in ("baseline", "scarce-first"):
        result = report[mode]
        assert len(result["scarce_completions_s"]) == len(result["popular_completions_s"]) == 2
        assert all(t > 0 for t in result["scarce_completions_s"] + result["popular_completions_s"])
        # The operator is the scarce post's only seed: it sent at least one copy of it.
        assert result["operator_upload_scarce_bytes"] >= MiB
        assert 0 < result["scarce_share"] <= 1
    ratio = report["scarce_first_over_baseline"]
    expected = report["scarce-first"]["scarce_last_s"] / report["baseline"]["scarce_last_s"]
    assert ratio["scarce_last"] == pytest.approx(expected, abs=0.002)

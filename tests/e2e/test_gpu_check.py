"""bench/gpu_check.py --cpu-smoke: two tiny points (a Reins SFT run, the plain TRL DPO script) through the same code
the GPU check runs, with every output written."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_cpu_smoke_runs_two_points_and_writes_every_output(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), str(out), "--cpu-smoke",
                          "--tokenizer", str(tiny_model), "--work", str(tmp_path / "work")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = list(csv.DictReader((out / "gpu_check.csv").open()))
    assert [(r["id"], r["runner"], r["status"]) for r in rows] == [
        ("smoke-sft", "reins", "completed"), ("smoke-plain-dpo", "plain", "completed")]
    assert all(float(r["s_per_step"]) > 0 and float(r["tokens_per_s"]) > 0 for r in rows)
    assert float(rows[0]["estimate_allocator_gib"]) > 0 and float(rows[0]["term_weights_gib"]) > 0
    summary = (out / "summary.md").read_text()
    assert "| smoke-plain-dpo | plain |" in summary and "## Memory: estimate vs measured" in summary
    env_json = json.loads((out / "env.json").read_text())
    assert env_json["device"] == "cpu" and env_json["versions"]["trl"] and env_json["problems"] == []
    with gzip.open(out / "events.jsonl.gz", "rt") as fh:
        events = [json.loads(line) for line in fh]
    assert any(e["point"] == "smoke-sft" and e.get("status") == "completed" for e in events)
    assert any(e["point"] == "smoke-plain-dpo" and e["kind"] == "plain" for e in events)
    assert len(list(out.iterdir())) <= 8  # what the device tool brings back: at most 8 files

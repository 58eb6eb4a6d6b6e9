"""The CLI's contract: `--json` on read commands, exit 2 with one clear paragraph (never a traceback) on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]



# The bad-input table (exit 2, one paragraph, no traceback) lives in tests/reliability/test_bad_input.py.


def test_recipes_json_lists_the_bundled_recipes(reins) -> None:
    res = reins("recipes", "--json")
    assert res.returncode == 0
    names = {r["name"]: r for r in json.loads(res.stdout)}
    assert {"sft", "dpo"} <= set(names) and names["dpo"]["method"] == "dpo" and names["dpo"]["description"]


def test_estimate_json_has_every_term_and_a_verdict(reins) -> None:
    res = reins("estimate", "dpo", "--gpu-memory", "4", "--json")
    data = json.loads(res.stdout)
    assert [t["name"] for t in data["terms"]] == ["weights", "trainable states", "gradients", "optimizer",
                                                   "activations", "logits", "extra models", "overhead"]
    assert all(t["help"] and t["formula"] for t in data["terms"])
    assert abs(sum(t["bytes"] for t in data["terms"]) - data["total_bytes"]) == 0
    assert data["verdict"] in ("fits", "tight", "won't fit")


def test_ls_and_show_json_read_the_store(tmp_path: Path, make_run, reins) -> None:
    make_run(tmp_path, "20261127-010000-dpo", events=[("metric", {"step": 4, "split": "train",
                                                                   "values": {"rewards/margins": 0.3}})])
    listed = json.loads(reins("ls", "--json", runs=tmp_path).stdout)
    assert [(r["id"], r["status"], r["step"]) for r in listed] == [("20261127-010000-dpo", "completed", 4)]
    shown = json.loads(reins("show", "20261127", "--json", runs=tmp_path).stdout)
    assert shown["metrics"] == {"rewards/margins": 0.3} and "estimate" in shown
    plain = reins("ls", runs=tmp_path)
    assert "20261127-010000-dpo" in plain.stdout and "completed" in plain.stdout


def test_python_dash_m_engine_is_the_reins_command(reins) -> None:
    exe = Path(sys.executable).parent / "reins"
    if not exe.exists():
        pytest.skip("console script not installed in this interpreter's folder")
    a = subprocess.run([str(exe), "recipes", "--json"], capture_output=True, text=True, cwd=ROOT)
    assert a.stdout == reins("recipes", "--json").stdout


def test_quantization_without_a_gpu_is_refused_before_launch(tmp_path: Path, reins) -> None:
    from engine.estimate.memory import detect_gpu_memory_gib

    if detect_gpu_memory_gib() is not None:
        pytest.skip("this machine has an NVIDIA GPU")
    res = reins("run", "dpo", "--set", "model.quantization=4bit", runs=tmp_path / "runs")
    assert res.returncode == 2 and "needs an NVIDIA GPU" in " ".join(res.stderr.split())
    assert not (tmp_path / "runs").exists()


def test_show_prints_the_estimate_beside_the_measured_peak(tmp_path: Path, make_run, reins) -> None:
    summary = {"steps": 4, "peak_mem_gb": 13.6, "estimate_total_gib": 14.2, "estimate_allocator_gib": 13.7}
    make_run(tmp_path, "20261127-020000-dpo", events=[("status", {"status": "completed", "summary": summary})])
    res = reins("show", "20261127-020000", runs=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "estimated 14.20 GiB · measured GPU peak reserved 13.60 GiB" in " ".join(res.stdout.split())


def test_estimate_a_catalogue_model_not_on_disk(reins) -> None:
    res = reins("estimate", "dpo", "--model", "qwen2.5-7b", "--set", "lora=null", "--gpu-memory", "48", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["params"] == 7_615_616_512 and data["verdict"] == "won't fit"
    assert len(data["suggestions"]) == 2 and data["suggestions"][0]["saves_gib"] > 0
    table = reins("estimate", "dpo", "--model", "qwen2.5-7b", "--gpu-memory", "24", "--explain")
    assert "extra models" in table.stdout and "Saved tensors per token" in " ".join(table.stdout.split())
    listed = json.loads(reins("estimate", "--catalogue", "--json").stdout)
    assert len(listed) >= 15 and {"llama-3.1-70b", "mistral-7b"} <= {e["name"] for e in listed}


def test_runs_of_every_kind_are_listed(tmp_path: Path, make_run, reins) -> None:
    # Runs that do not train (generated data, an evaluation of a finished run) sit in the same store: listing must
    # show them, by kind, beside training runs and runs written before run.json had a `kind`.
    from engine.runs.rundir import RUN_KINDS

    make_run(tmp_path, "20261201-000000-old-dpo")  # no kind: a training run
    for i, kind in enumerate(RUN_KINDS[1:], 1):
        make_run(tmp_path, f"20261201-00000{i}-{kind}").update(kind=kind, method=None)
    listed = {r["id"]: r["kind"] for r in json.loads(reins("ls", "--json", runs=tmp_path).stdout)}
    assert listed == {"20261201-000000-old-dpo": "train", "20261201-000001-generate": "generate",
                      "20261201-000002-evaluate": "evaluate"}
    table = reins("ls", runs=tmp_path).stdout
    assert "generate" in table and "evaluate" in table and "dpo" in table

"""The CLI's contract: `--json` on read commands, exit 2 with one clear paragraph (never a traceback) on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import write_jsonl
from test_store import make_run

ROOT = Path(__file__).resolve().parent.parent


def reins(*args: str, runs: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    if runs is not None:
        full_env["REINS_RUNS_DIR"] = str(runs)
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT,
                          env=full_env, timeout=120)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "syntax.yaml").write_text("data:\n  train: x.jsonl\nmethod: {name: dpo\n")
    (d / "unknown_key.yaml").write_text("data: {train: x.jsonl}\nmethod: {name: dpo}\ntrain: {learnin_rate: 1}\n")
    (d / "no_model.yaml").write_text(f"model: {{name: {d / 'missing-model'}}}\ndata: {{train: x.jsonl}}\n"
                                     "method: {name: dpo}\n")
    (d / "empty_model").mkdir()
    (d / "no_config.yaml").write_text(f"model: {{name: {d / 'empty_model'}}}\ndata: {{train: x.jsonl}}\n"
                                      "method: {name: dpo}\n")
    (d / "hub.yaml").write_text("model: {name: someorg/not-cached}\ndata: {train: x.jsonl}\nmethod: {name: dpo}\n")
    write_jsonl(d / "dupes.jsonl", [{"prompt": "q", "chosen": "same", "rejected": "same"}])
    return {p.stem: p for p in d.iterdir()}


BAD_INPUT = [
    (["validate", "nosuchrecipe"], "Unknown recipe 'nosuchrecipe'"),
    (["validate", "{syntax}"], "YAML syntax error"),
    (["validate", "{unknown_key}"], "did you mean `learning_rate`"),
    (["validate", "dpo", "--set", "train.batch_size=four"], "train.batch_size"),
    (["validate", "dpo", "--set", "method.beta=-0.1"], "method.beta: must be > 0 (got -0.1)"),
    (["validate", "dpo", "--set", "train.learnin_rate=1"], "did you mean `train.learning_rate`"),
    (["validate", "dpo", "--set", "data.train=/no/such/file.jsonl"], "does not exist"),
    (["validate", "dpo", "--set", "data.train={dupes}", "--set", "data.eval=null"], "identical"),
    (["validate", "{no_model}"], "does not exist"),
    (["validate", "{no_config}"], "has no config.json"),
    (["validate", "{hub}"], "not in the local Hugging Face cache"),
    (["estimate", "dpo", "--set", "lora.r=0"], "lora.r: must be > 0"),
    (["show", "no-such-run"], "No run 'no-such-run'"),
    (["stop", "no-such-run"], "No run 'no-such-run'"),
    (["logs", "no-such-run"], "No run 'no-such-run'"),
    (["run", "dpo", "--set", "method.loss_type=nope"], "method.loss_type: must be one of"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_INPUT, ids=[" ".join(a[:3]) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_with_a_clear_message(argv, expected, bad_files, tmp_path: Path) -> None:
    argv = [a.format(**bad_files) for a in argv]
    res = reins(*argv, runs=tmp_path / "runs", env={"HF_HOME": str(tmp_path / "hf")})
    assert res.returncode == 2, res.stderr
    assert expected in " ".join(res.stderr.split()), res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing launched


def test_recipes_json_lists_the_bundled_recipes() -> None:
    res = reins("recipes", "--json")
    assert res.returncode == 0
    names = {r["name"]: r for r in json.loads(res.stdout)}
    assert {"sft", "dpo"} <= set(names) and names["dpo"]["method"] == "dpo" and names["dpo"]["description"]


def test_estimate_json_has_every_term_and_a_verdict() -> None:
    res = reins("estimate", "dpo", "--gpu-memory", "4", "--json")
    data = json.loads(res.stdout)
    assert [t["name"] for t in data["terms"]] == ["weights", "trainable", "gradients", "optimizer", "activations",
                                                   "logits", "reference model", "overhead"]
    assert abs(sum(t["bytes"] for t in data["terms"]) - data["total_bytes"]) == 0
    assert data["verdict"] in ("fits", "tight", "won't fit")


def test_ls_and_show_json_read_the_store(tmp_path: Path) -> None:
    make_run(tmp_path, "20261127-010000-dpo", events=[("metric", {"step": 4, "split": "train",
                                                                   "values": {"rewards/margins": 0.3}})])
    listed = json.loads(reins("ls", "--json", runs=tmp_path).stdout)
    assert [(r["id"], r["status"], r["step"]) for r in listed] == [("20261127-010000-dpo", "completed", 4)]
    shown = json.loads(reins("show", "20261127", "--json", runs=tmp_path).stdout)
    assert shown["metrics"] == {"rewards/margins": 0.3} and "estimate" in shown
    plain = reins("ls", runs=tmp_path)
    assert "20261127-010000-dpo" in plain.stdout and "completed" in plain.stdout


def test_python_dash_m_engine_is_the_reins_command() -> None:
    exe = Path(sys.executable).parent / "reins"
    if not exe.exists():
        pytest.skip("console script not installed in this interpreter's folder")
    a = subprocess.run([str(exe), "recipes", "--json"], capture_output=True, text=True, cwd=ROOT)
    assert a.stdout == reins("recipes", "--json").stdout


def test_quantization_without_a_gpu_is_refused_before_launch(tmp_path: Path) -> None:
    from engine.vram import detect_gpu_memory_gib

    if detect_gpu_memory_gib() is not None:
        pytest.skip("this machine has an NVIDIA GPU")
    res = reins("run", "dpo", "--set", "model.quantization=4bit", runs=tmp_path / "runs")
    assert res.returncode == 2 and "needs an NVIDIA GPU" in " ".join(res.stderr.split())
    assert not (tmp_path / "runs").exists()

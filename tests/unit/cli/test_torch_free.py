"""The CLI process never imports torch, transformers, trl or peft: training and model loading happen in workers.

Each command runs in a fresh interpreter that reports, at exit, which of those libraries it had imported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.runs.rundir import RunDir

# A worker stand-in for `reins run`: it lives a run's lifecycle in milliseconds (the launcher's code path is real).
FAKE_WORKER = '''
import sys
from pathlib import Path
from engine.runs.events import EventWriter
from engine.runs.rundir import RunDir, now_iso
rd = RunDir(Path(sys.argv[1]))
with EventWriter(rd.events) as w:
    w.status("running", max_steps=2)
    w.write("metric", step=2, split="train", values={"loss": 0.5})
    w.status("completed", summary={"steps": 2})
rd.update(status="completed", ended=now_iso())
'''


@pytest.fixture
def store(tmp_path: Path, make_run) -> Path:
    """A run store with an ended run that has samples to judge and a log, and a crashed run with a checkpoint."""
    runs = tmp_path / "runs"
    samples = [("sample", {"step": 4, "index": i, "prompt": f"question {i}", "reference": "short",
                           "policy": "a longer answer"}) for i in range(2)]
    done = make_run(runs, "20261127-000000-done", events=[
        ("status", {"status": "running", "max_steps": 4}),
        *[("metric", {"step": s, "split": "train", "values": {"loss": 1.0 / s, "rewards/margins": 0.1 * s}})
          for s in range(1, 5)],
        *samples, ("evaluation", {"step": 4, "values": {"samples": 2}}),
        ("status", {"status": "completed", "summary": {"steps": 4}})])
    done.stdout.write_text("".join(f"log line {i}\n" for i in range(20)))
    done.estimate.write_text(json.dumps({"total_gib": 1.5}))
    crashed = make_run(runs, "20261127-010000-crashed", status="running", events=[
        ("status", {"status": "running", "max_steps": 10})])
    checkpoint = crashed.checkpoints / "checkpoint-3"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 3, "max_steps": 10}))
    return runs


COMMANDS = [
    ["recipes"],
    ["validate", "dpo"],
    ["estimate", "dpo", "--gpu-memory", "24"],
    ["estimate", "--catalogue"],
    ["export", "slurm", "dpo", "--nodes", "2", "--gpus-per-node", "4"],
    ["export", "slurm", "--sweep", "dpo", "--grid", "method.beta=0.1,0.5", "--gpus-per-node", "4"],
    ["ls"],
    ["show", "20261127-000000"],
    ["show", "20261127-000000", "--json"],
    ["watch", "20261127-000000"],
    ["logs", "20261127-000000", "-n", "5"],
    ["health", "20261127-000000"],
    ["report", "20261127-000000"],
    ["annotate", "20261127-000000", "--list"],
    ["annotate", "20261127-000000", "1", "--winner", "tie"],
    ["stop", "20261127-000000"],
    ["resume", "20261127-010000", "--dry-run"],
    ["import", "llamafactory", "tests/fixtures/import/llamafactory/qwen3_lora_dpo.yaml"],
    ["import", "axolotl", "tests/fixtures/import/axolotl/llama-3_qlora-1b-kto.yaml", "--json"],
]


def test_no_command_loads_a_training_library(store: Path, reins_imports) -> None:
    for argv in COMMANDS:
        res, heavy = reins_imports(*argv, runs=store)
        assert res.returncode in (0, 1), (argv, res.stderr[-2000:])  # 1: `health` and `watch` report, not fail
        assert "Traceback" not in res.stderr, (argv, res.stderr[-2000:])
        assert heavy == [], f"`reins {' '.join(argv)}` imported {heavy}"


def test_run_and_wait_stays_torch_free(tmp_path: Path, reins_imports) -> None:
    (tmp_path / "torchless_worker.py").write_text(FAKE_WORKER)
    runs = tmp_path / "runs"
    env = {"REINS_TEST_WORKER_MODULE": "torchless_worker",
           "PYTHONPATH": os.pathsep.join((str(tmp_path), str(Path(__file__).resolve().parents[3])))}
    res, heavy = reins_imports("run", "dpo", "--wait", "--json", runs=runs, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["status"] == "completed"
    assert heavy == []


def test_chat_judge_rejudging_stays_torch_free(store: Path, fake_judge, prefers_longer, reins_imports) -> None:
    with fake_judge(prefers_longer) as fake:
        res, heavy = reins_imports("report", "20261127-000000", "--judge-url", fake["url"], "--judge-model", "j",
                                   "--json", runs=store)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["evaluation"]["judge"]["wins"] == 2
    assert heavy == []
    assert not RunDir(store / "20261127-000000-done").rejudge_log.exists()  # no worker for a chat judge


def test_head_to_head_with_a_chat_judge_stays_torch_free(store: Path, make_run, fake_judge, prefers_longer,
                                                         reins_imports) -> None:
    make_run(store, "20261127-020000-other", events=[
        *[("sample", {"step": 2, "index": i, "prompt": f"question {i}", "reference": "r", "policy": "ok"})
          for i in range(3)],
        ("evaluation", {"step": 2, "values": {"samples": 3}}), ("status", {"status": "completed"})])
    with fake_judge(prefers_longer) as fake:
        res, heavy = reins_imports("report", "20261127-000000", "--against", "20261127-020000", "--judge-url",
                                   fake["url"], "--judge-model", "j", "--json", runs=store)
    assert res.returncode == 0, res.stderr[-2000:]
    result = json.loads(res.stdout)
    assert result["prompts"]["matched"] == 2 and result["judge"]["wins"] == 2  # "a longer answer" beats "ok"
    assert heavy == []

"""SIGKILL the worker mid-run, see `crashed` with its metrics, then `reins resume` it to completion."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from engine.launching.resume import checkpoints
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e
STEPS, SAVE = 40, 4


def test_sigkilled_worker_is_crashed_then_resumes_on_the_same_step_counter(tmp_path: Path, tiny_model: Path, launch,
                                                                           metric_steps, record, reins, show, statuses,
                                                                           tiny_recipe, wait_until) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, steps=STEPS, train={"save_steps": SAVE, "save_total_limit": 2})
    run = launch(recipe, runs)
    run_dir = Path(run["path"])
    rd = RunDir(run_dir)
    # Kill after a checkpoint exists and a few steps past it, so resuming visibly goes back to the checkpoint.
    wait_until(lambda: checkpoints(rd) and max(metric_steps(run_dir), default=0) >= SAVE + 2, what="checkpoint")
    os.kill(record(run_dir)["worker_pid"], signal.SIGKILL)
    crashed = wait_until(lambda: (s := show(run["id"], runs))["status"] == "crashed" and s, timeout=60)
    killed_at = max(metric_steps(run_dir))
    assert killed_at < STEPS, "the run finished before it was killed: make it longer"
    assert crashed["step"] == killed_at and "rewards/margins" in crashed["metrics"]  # last metrics intact
    print(f"\nkilled at step {killed_at}")

    newest = checkpoints(rd)[-1]
    ckpt_step = int(newest.name.split("-")[1])
    plan = json.loads(reins("resume", run["id"], "--dry-run", "--json", runs=runs).stdout)
    assert plan == {"run_id": run["id"], "checkpoint": str(newest), "step": ckpt_step, "max_steps": STEPS,
                    "remaining": STEPS - ckpt_step, "attempt": 2, "previous_status": "crashed"}
    told = reins("resume", run["id"], "--dry-run", runs=runs)
    said = " ".join(told.stderr.split())
    assert told.returncode == 0 and f"{newest.name} at step {ckpt_step}" in said
    assert f"{STEPS - ckpt_step} of {STEPS} steps remain" in said
    assert statuses(run_dir)[-1] == "running", "a dry run must change nothing"

    res = reins("resume", run["id"], "--wait", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    final = json.loads(res.stdout)
    assert final["status"] == "completed" and final["step"] == STEPS and final["id"] == run["id"]

    steps = metric_steps(run_dir)
    second = steps[len(steps) - steps[::-1].index(ckpt_step + 1) - 1:]  # the resumed attempt's steps
    assert second == list(range(ckpt_step + 1, STEPS + 1))  # continues the counter, goes past the kill point
    assert steps[: killed_at] == list(range(1, killed_at + 1))  # the first attempt's history is still there
    assert statuses(run_dir)[-3:] == ["starting", "running", "completed"]
    rec = record(run_dir)
    assert rec["attempt"] == 2 and rec["resume_from"] == f"checkpoints/{newest.name}"
    assert [(a["attempt"], a["status"]) for a in rec["attempts"]] == [(1, "crashed")]
    assert rec["attempts"][0]["worker_pid"] != rec["worker_pid"]
    assert (run_dir / "final" / "adapter_config.json").is_file()
    assert [p.name for p in run_dir.parent.iterdir() if p.is_dir()] == [run["id"]]  # same run directory


def test_resume_of_a_completed_run_is_refused_with_exit_2(
        tmp_path: Path, tiny_model: Path, launch, reins, tiny_recipe,
) -> None:
    runs = tmp_path / "runs"
    run = launch(tiny_recipe(tmp_path, tiny_model, steps=2), runs, "--wait")
    assert run["status"] == "completed"
    res = reins("resume", run["id"], runs=runs)
    assert res.returncode == 2 and "already completed" in res.stderr and "Traceback" not in res.stderr

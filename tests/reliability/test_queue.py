"""The queue through the real CLI and detached scheduler: strict order on a CPU, and a scheduler SIGKILLed in the
middle of a sweep loses nothing and starts nothing twice once the next command revives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.runs import events as ev
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def times(run_dir: Path) -> tuple[float, float, list[str]]:
    """(when its worker was started, when it ended, its status sequence) from the run's events."""
    events = [e for e in ev.read_all(RunDir(run_dir).events) if e["kind"] == "status"]
    starting = [e["t"] for e in events if e["status"] == "starting"]
    ended = [e["t"] for e in events if e["status"] in ev.TERMINAL_STATUSES]
    return starting[0], ended[-1], [e["status"] for e in events]


def test_three_runs_queued_at_once_run_strictly_one_after_another(tmp_path: Path, tiny_model: Path, tiny_recipe,
                                                                  quick_env, reins, wait_until) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model)
    env = {**quick_env(runs), "QUICK_WORKER_STEP_S": "0.5"}
    # Three shells submit at the same moment.
    procs = [subprocess.Popen([sys.executable, "-m", "engine", "run", str(recipe), "--queue", "--json",
                               "--name", f"q{i}"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(3)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
        ids.append(json.loads(out)["id"])
    assert len(set(ids)) == 3
    wait_until(lambda: all(json.loads((runs / i / "run.json").read_text())["status"] == "completed" for i in ids),
               timeout=120, what="all three completed")
    spans = sorted(times(runs / i)[:2] for i in ids)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"a run started at {start} before the one before it ended at {end}"
    t0 = spans[0][0]
    print("\nqueued runs (start, end) s: " + ", ".join(f"({s - t0:.1f}, {e - t0:.1f})" for s, e in spans))
    statuses = [times(runs / i)[2] for i in ids]
    assert all(s == ["queued", "starting", "running", "completed"] for s in statuses), statuses


def test_a_scheduler_killed_mid_sweep_loses_nothing(tmp_path: Path, tiny_model: Path, tiny_recipe, quick_env,
                                                    reins, wait_until) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model)
    env = {**quick_env(runs, steps=4), "QUICK_WORKER_STEP_S": "0.5"}
    res = reins("sweep", str(recipe), "--grid", "method.beta=0.1,0.2,0.3,0.4", "--json", runs=runs, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    sweep = json.loads(res.stdout)
    ids = [m["run_id"] for m in sweep["members"]]
    sched = runs / "queue" / "scheduler.json"

    def status(run_id: str) -> str:
        return json.loads((runs / run_id / "run.json").read_text())["status"]

    # Kill it while the second member trains.
    wait_until(lambda: status(ids[1]) == "running", timeout=120, what="the second member running")
    pid = json.loads(sched.read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: status(ids[1]) == "completed", timeout=60, what="the running member finishing on its own")
    time.sleep(3)  # with no scheduler, nothing else starts
    assert [status(i) for i in ids[2:]] == ["queued", "queued"]

    # The next command revives the queue; the sweep then finishes.
    res = reins("queue", "--json", runs=runs, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert [r["id"] for r in json.loads(res.stdout)["queued"]] == ids[2:]
    wait_until(lambda: json.loads(sched.read_text())["pid"] != pid, timeout=30, what="a new scheduler")
    wait_until(lambda: all(status(i) == "completed" for i in ids), timeout=120, what="every member completed")
    for i in ids:  # each started exactly once
        assert times(runs / i)[2].count("starting") == 1, times(runs / i)[2]
    res = reins("sweep", "show", sweep["id"], "--json", runs=runs, env=env)
    shown = json.loads(res.stdout)
    assert shown["status"] == "completed" and [m["status"] for m in shown["members"]] == ["completed"] * 4


def test_pause_holds_the_queue_and_resume_lets_it_go_on(tmp_path: Path, tiny_model: Path, tiny_recipe, quick_env,
                                                        reins, wait_until) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model)
    env = quick_env(runs)
    assert reins("queue", "pause", runs=runs, env=env).returncode == 0
    run_id = json.loads(reins("run", str(recipe), "--queue", "--json", runs=runs, env=env).stdout)["id"]
    time.sleep(3)
    listed = json.loads(reins("queue", "--json", runs=runs, env=env).stdout)
    assert listed["settings"]["paused"] is True and [r["id"] for r in listed["queued"]] == [run_id]
    assert listed["scheduler"]["alive"] is False
    assert reins("queue", "resume", runs=runs, env=env).returncode == 0
    wait_until(lambda: json.loads((runs / run_id / "run.json").read_text())["status"] == "completed", timeout=60,
               what="the run started after resume")


def test_stopping_a_sweep_cancels_its_queued_members(tmp_path: Path, tiny_model: Path, tiny_recipe, quick_env,
                                                     reins, wait_until) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model)
    env = {**quick_env(runs, steps=20), "QUICK_WORKER_STEP_S": "0.5"}
    sweep = json.loads(reins("sweep", str(recipe), "--grid", "method.beta=0.1,0.2,0.3", "--json", runs=runs,
                             env=env).stdout)
    ids = [m["run_id"] for m in sweep["members"]]
    wait_until(lambda: json.loads((runs / ids[0] / "run.json").read_text())["status"] == "running", timeout=60,
               what="the first member running")
    res = reins("sweep", "stop", sweep["id"], "--json", runs=runs, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    stopped = json.loads(res.stdout)
    assert [m["status"] for m in stopped["members"][1:]] == ["stopped", "stopped"]
    wait_until(lambda: json.loads(reins("sweep", "show", sweep["id"], "--json", runs=runs, env=env).stdout)["status"]
               == "stopped", timeout=60, what="the sweep stopped")
    sequences = [[e["status"] for e in ev.read_all(RunDir(runs / i).events) if e["kind"] == "status"] for i in ids]
    assert sequences[0][:3] == ["queued", "starting", "running"]
    assert sequences[1:] == [["queued", "stopped"], ["queued", "stopped"]]  # never started


def test_the_scheduler_places_runs_on_gpus_with_room(tmp_path: Path, tiny_model: Path, tiny_recipe, quick_env,
                                                     reins, wait_until, repo_root: Path) -> None:
    """A made-up machine of two 24 GiB GPUs, GPU 1 mostly taken by another user's job: the queue gives the first run
    the GPU whose free memory fits it tightest, the second the other GPU, and holds the third (packing off) until
    a GPU is free; each worker sees only its GPU."""
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model)
    machine = tmp_path / "nvml.json"
    machine.write_text(json.dumps({"gpus": [
        {"name": "L4", "util": 0, "used": 0.4, "total": 24.0},
        {"name": "L4", "util": 95, "used": 20.4, "total": 24.0, "processes": [[999_001, 20.0]]}]}))
    env = {**quick_env(runs, steps=6), "QUICK_WORKER_STEP_S": "0.5", "REINS_FAKE_NVML": str(machine)}
    env["PYTHONPATH"] = os.pathsep.join((str(repo_root / "tests" / "fakes"), env["PYTHONPATH"]))
    assert reins("queue", "set", "poll_s=0.5", runs=runs, env=env).returncode == 0
    submitted = [reins("run", str(recipe), "--queue", "--json", runs=runs, env=env) for _ in range(3)]
    ids = [json.loads(res.stdout)["id"] for res in submitted]

    def record(run_id: str) -> dict:
        return json.loads((runs / run_id / "run.json").read_text())

    wait_until(lambda: all(record(i)["status"] == "completed" for i in ids), timeout=120, what="all three completed")
    assert [record(i)["devices"] for i in ids[:2]] == [[1], [0]]  # tightest fit first: 3.6 GiB free on GPU 1
    assert [record(i)["test_worker_saw_cuda_visible_devices"] for i in ids[:2]] == ["1", "0"]
    first_end = min(times(runs / i)[1] for i in ids[:2])
    assert times(runs / ids[2])[0] >= first_end  # the third waited for a free GPU

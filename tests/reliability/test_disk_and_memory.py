"""Disk full while writing events (a real full tmpfs, and a patched writer) and CUDA OOM (raised on CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from engine.estimate.fit import suggest_for_recipe
from engine.recipe.loading import read_yaml, validate
from engine.recipe.model_refs import resolve_model
from engine.runs import events as ev
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e


@pytest.fixture
def failed(statuses, record):  # noqa: ANN201 - a predicate
    """failed(run_dir): both the events and run.json say the run ended `failed`."""
    return lambda run_dir: bool(statuses(run_dir)) and statuses(run_dir)[-1] == "failed" and \
        record(run_dir).get("status") == "failed"


def test_cuda_oom_fails_naming_oom_the_estimate_and_the_suggestions(tmp_path: Path, tiny_model: Path, metric_steps,
                                                                    record, reins, tiny_recipe) -> None:
    runs = tmp_path / "runs"
    res = reins("run", str(tiny_recipe(tmp_path, tiny_model, steps=20)), "--wait", "--json", runs=runs,
                env={"REINS_TEST_FAULT": "oom@3"})
    assert res.returncode == 1, res.stderr[-3000:]
    run = json.loads(res.stdout)
    run_dir = Path(run["path"])
    error = " ".join(run["error"].split())
    est = json.loads((run_dir / "estimate.json").read_text())
    recipe = validate(read_yaml(run_dir / "recipe.yaml"))
    expected = suggest_for_recipe(recipe, resolve_model(recipe.model.name).config(), est["total_bytes"])
    assert run["status"] == "failed" and "Out of memory (OOM: OutOfMemoryError: CUDA out of memory" in error
    assert f"estimated peak of {est['total_gib']:.2f} GiB" in error
    assert expected and all(s["change"] in error and all(f"--set {o}" in error for o in s["set"]) for s in expected)
    assert metric_steps(run_dir) == [1, 2]  # history before the OOM is intact
    assert record(run_dir)["error"] == run["error"] and not RunDir(run_dir).disk_reserve.exists()
    print(f"\nOOM message: {error}")


def test_disk_full_patched_writer(tmp_path: Path, tiny_model: Path, metric_steps, reins, statuses, tiny_recipe) -> None:
    runs = tmp_path / "runs"
    res = reins("run", str(tiny_recipe(tmp_path, tiny_model, steps=20)), "--wait", "--json", runs=runs,
                env={"REINS_TEST_FAULT": "enospc@3"})
    assert res.returncode == 1, res.stderr[-3000:]
    run = json.loads(res.stdout)
    run_dir = Path(run["path"])
    assert run["status"] == "failed" and run["error"].startswith("Disk full (OSError ENOSPC")
    assert "events.jsonl" in run["error"] and f"reins resume {run['id']}" in run["error"]
    assert metric_steps(run_dir) == [1, 2] and run["unreadable_event_lines"] == 0
    assert statuses(run_dir) == ["created", "starting", "running", "failed"]


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_for_real_on_a_small_tmpfs(small_disk: Path, tmp_path: Path, tiny_model: Path, launch, metric_steps,
                                             record, reins, tiny_recipe, wait_until, failed) -> None:
    runs = small_disk / "runs"
    run = launch(tiny_recipe(tmp_path, tiny_model, steps=5000), runs)
    run_dir = Path(run["path"])
    try:
        wait_until(lambda: len(metric_steps(run_dir)) >= 2, what="first metrics")
        filled = 0
        with open(small_disk / "filler", "wb", buffering=0) as fh:  # fill the disk to the last page
            try:
                while True:
                    fh.write(b"\0" * 4096)
                    filled += 4096
            except OSError as exc:
                assert exc.errno == 28
        wait_until(lambda: failed(run_dir), timeout=180, what="run marked failed")
        rec = record(run_dir)
        assert rec["error"].startswith("Disk full (OSError ENOSPC") and "events.jsonl" in rec["error"]
        steps = metric_steps(run_dir)
        assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 2  # earlier events intact
        assert ev.read_all(run_dir / "events.jsonl")[-1]["error"] == rec["error"]
        shown = reins("show", run["id"], "--json", runs=runs)
        assert json.loads(shown.stdout)["status"] == "failed"
        print(f"\nfilled {filled / 2**20:.1f} MiB; failed after step {steps[-1]}: {rec['error'][:90]}…")
    finally:
        for key in ("worker_pid", "pid"):
            pid = record(run_dir).get(key)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

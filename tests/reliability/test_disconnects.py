"""The CLI dies or its terminal closes: the run trains on. `reins stop`: a checkpoint and `stopped`, timed."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from engine.launching.resume import checkpoints
from engine.runs.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
STEPS = 30


def _take_terminal() -> None:
    # Runs in the child after setsid(): make the pty our controlling terminal, like a login shell over SSH.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _only_run(runs: Path) -> Path:
    dirs = [p for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []
    return dirs[0] if len(dirs) == 1 and (dirs[0] / "run.json").is_file() else None


def test_killing_or_hanging_up_the_cli_never_stops_the_run(
        tmp_path: Path, tiny_model: Path, cli_env, metric_steps, pid_gone, record, reins, show, tiny_recipe, wait_until,
) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, steps=STEPS)
    env = cli_env(runs)

    # 1. `reins run --wait` is SIGKILLed while it follows the run.
    with open(tmp_path / "wait.out", "wb") as out:
        waiter = subprocess.Popen([sys.executable, "-m", "engine", "run", str(recipe), "--wait"], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    run_dir = wait_until(lambda: _only_run(runs), what="run directory")
    wait_until(lambda: len(metric_steps(run_dir)) >= 2, what="first metrics")
    waiter.kill()
    assert waiter.wait(timeout=30) == -signal.SIGKILL
    killed_at = max(metric_steps(run_dir))

    # 2. `reins watch` in a real terminal (a pty it controls); the terminal goes away (SSH drops): SIGHUP.
    master, slave = pty.openpty()
    watcher = subprocess.Popen([sys.executable, "-m", "engine", "watch", run_dir.name], cwd=ROOT, env=env,
                               stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                               preexec_fn=_take_terminal)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while run_dir.name.encode() not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(master, 65536)
        except OSError:
            break
    assert run_dir.name.encode() in seen, "watch never drew its live view"
    hung_at = max(metric_steps(run_dir))
    os.close(master)  # the terminal closes: the kernel hangs up the session
    try:
        os.killpg(watcher.pid, signal.SIGHUP)  # and its process group, as sshd does on disconnect
    except ProcessLookupError:
        pass
    code = watcher.wait(timeout=30)
    assert code != 0, "watch should have been ended by the hangup"

    # The run did not notice: it keeps stepping past both disconnects and completes.
    rec = record(run_dir)
    assert not pid_gone(rec["worker_pid"]) or show(run_dir.name, runs)["status"] == "completed"
    print(f"\nCLI killed at step {killed_at}, terminal hung up at step {hung_at}")

    # 3. Reopening shows the complete history and follows live updates to the end.
    again = reins("watch", run_dir.name, runs=runs, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    lines = " ".join(again.stderr.split())
    assert all(f"train step {s}:" in lines for s in range(1, STEPS + 1))
    shown = show(run_dir.name, runs)
    assert shown["status"] == "completed" and shown["step"] == STEPS
    assert metric_steps(run_dir) == list(range(1, STEPS + 1))


def test_stop_checkpoints_and_ends_stopped_in_bounded_time(tmp_path: Path, tiny_model: Path, launch, metric_steps,
                                                           pid_gone, record, reins, tiny_recipe, wait_until) -> None:
    runs = tmp_path / "runs"
    run = launch(tiny_recipe(tmp_path, tiny_model, steps=5000, train={"save_total_limit": 1}), runs)
    run_dir = Path(run["path"])
    wait_until(lambda: len(metric_steps(run_dir)) >= 2, what="first metrics")
    t0 = time.monotonic()
    res = reins("stop", run["id"], "--json", "--timeout", "120", runs=runs)
    elapsed = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    stopped = json.loads(res.stdout)
    assert stopped["status"] == "stopped"  # within the 120 s bound `--timeout` gives it
    ckpts = checkpoints(RunDir(run_dir))
    assert [int(p.name.split("-")[1]) for p in ckpts] == [stopped["step"]]
    wait_until(lambda: pid_gone(record(run_dir)["worker_pid"]), timeout=60, what="worker exit")
    print(f"\nstop → stopped with checkpoint-{stopped['step']} in {elapsed:.1f} s (bound: 120 s)")

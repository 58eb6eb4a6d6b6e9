"""Helpers for the reliability suite: run the real CLI, write tiny recipes, poll the run directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.runs import events as ev

from support import wait_until, write_recipe  # noqa: F401 - wait_until is re-exported to the reliability tests

ROOT = Path(__file__).resolve().parents[2]


def cli_env(runs: Path | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    if runs is not None:
        env["REINS_RUNS_DIR"] = str(runs)
    return env


def reins(*args: str, runs: Path | None = None, env: dict[str, str] | None = None,
          timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `reins` CLI (python -m engine) in a subprocess."""
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**cli_env(runs), **(env or {})}, timeout=timeout)


def tiny_recipe(tmp_path: Path, model: Path, base: str = "dpo", steps: int = 4, **sections: Any) -> Path:
    """A bundled recipe on the tiny random Llama: short sequences, one metric event per step, no eval."""
    train = {"max_steps": steps, "batch_size": 2, "max_length": 64, "eval_steps": None, "logging_steps": 1,
             "learning_rate": 1e-3, **sections.pop("train", {})}
    data = {"max_rows": 32, "eval": None, **sections.pop("data", {})}
    return write_recipe(tmp_path / f"{base}-{steps}.yaml", base, model, train=train, data=data, **sections)


def metric_steps(run_dir: Path, split: str = "train") -> list[int]:
    return [e["step"] for e in ev.read_all(run_dir / "events.jsonl") if e["kind"] == "metric" and e["split"] == split]


def statuses(run_dir: Path) -> list[str]:
    return [e["status"] for e in ev.read_all(run_dir / "events.jsonl") if e["kind"] == "status"]


def record(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}



def show(run_id: str, runs: Path) -> dict[str, Any]:
    res = reins("show", run_id, "--json", runs=runs)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def launch(recipe: Path, runs: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    res = reins("run", str(recipe), "--json", *extra, runs=runs, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def quick_env(runs: Path, steps: int = 3) -> dict[str, str]:
    """Environment that makes the real launcher start `quick_worker` (no torch) instead of the training worker."""
    env = cli_env(runs, REINS_TEST_WORKER_MODULE="quick_worker", QUICK_WORKER_STEPS=str(steps))
    env["PYTHONPATH"] = os.pathsep.join((str(Path(__file__).parent), env["PYTHONPATH"]))
    return env


def file_snapshot(root: Path) -> dict[str, int]:
    """Every file under `root` (but the index cache and locks) with its size, to prove nothing was deleted."""
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p.name != "index.json"}

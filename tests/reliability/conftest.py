"""Fixtures of the reliability suite: launch through the real CLI, read a run's files as they are on disk, and
start the quick test worker instead of training."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.runs import events as ev
from engine.runs.rundir import RunDir

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def tiny_recipe(tiny_recipe: Callable[..., Path]) -> Callable[..., Path]:
    """The shared tiny recipe without held-out data: these tests watch the process, not the evaluation."""

    def write(tmp_path: Path, model: Path, base: str = "dpo", steps: int = 4, **sections: Any) -> Path:
        sections["data"] = {"eval": None, **sections.get("data", {})}
        return tiny_recipe(tmp_path, model, base, steps, **sections)

    return write


@pytest.fixture(scope="session")
def metric_steps() -> Callable[..., list[int]]:
    def steps(run_dir: Path, split: str = "train") -> list[int]:
        return [e["step"] for e in ev.read_all(RunDir(run_dir).events) if e["kind"] == "metric"
                and e["split"] == split]

    return steps


@pytest.fixture(scope="session")
def statuses() -> Callable[[Path], list[str]]:
    return lambda run_dir: [e["status"] for e in ev.read_all(RunDir(run_dir).events) if e["kind"] == "status"]


@pytest.fixture(scope="session")
def record() -> Callable[[Path], dict[str, Any]]:
    """run.json as it is on disk now ({} while it is missing or half-written)."""

    def read(run_dir: Path) -> dict[str, Any]:
        try:
            return json.loads(RunDir(run_dir).run_json.read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    return read


@pytest.fixture(scope="session")
def show(reins: Callable[..., Any]) -> Callable[[str, Path], dict[str, Any]]:
    def run(run_id: str, runs: Path) -> dict[str, Any]:
        res = reins("show", run_id, "--json", runs=runs)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    return run


@pytest.fixture(scope="session")
def launch(reins: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """launch(recipe, runs, *extra_args, env=None): `reins run RECIPE --json`, asserted to succeed."""

    def run(recipe: Path, runs: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        res = reins("run", str(recipe), "--json", *extra, runs=runs, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
        return json.loads(res.stdout)

    return run


@pytest.fixture(scope="session")
def pid_gone() -> Callable[[int], bool]:
    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except OSError:
            return True

    return gone


@pytest.fixture(scope="session")
def quick_env(cli_env: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    """quick_env(runs, steps=3): the environment that makes the real launcher start `quick_worker` (no torch)."""

    def env(runs: Path, steps: int = 3) -> dict[str, str]:
        out = cli_env(runs, REINS_TEST_WORKER_MODULE="quick_worker", QUICK_WORKER_STEPS=str(steps))
        out["PYTHONPATH"] = os.pathsep.join((str(HERE), out["PYTHONPATH"]))  # the child finds quick_worker here
        return out

    return env


@pytest.fixture(scope="session")
def file_snapshot() -> Callable[[Path], dict[str, int]]:
    """Every file under a folder (but the index cache and locks) with its size, to prove nothing was deleted."""
    return lambda root: {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")
                         if p.is_file() and not p.name.startswith(".") and p.name != "index.json"}

"""`reins stop` on a run whose worker is still loading: the launcher exits first, and the run must not read as
`crashed` in the moment before the worker records that it stopped."""

from __future__ import annotations

import json
from pathlib import Path

from engine.runs import events as ev
from engine.runs.rundir import RunDir


def test_stop_reports_stopped_when_the_launcher_exits_before_the_worker(tmp_path: Path, quick_env, record, reins,
                                                                        wait_until) -> None:
    runs = tmp_path / "runs"
    env = {**quick_env(runs), "REINS_TEST_WORKER_MODULE": "slow_stop_worker"}
    res = reins("run", "dpo", "--json", runs=runs, env=env)
    assert res.returncode == 0, res.stderr
    run = json.loads(res.stdout)
    run_dir = Path(run["path"])
    wait_until(lambda: any(e["kind"] == "phase" for e in ev.read_all(RunDir(run_dir).events)), timeout=60,
               what="the test worker is ready")
    assert "worker_pid" not in record(run_dir)  # as a real worker that is still importing torch

    res = reins("stop", run["id"], "--timeout", "60", runs=runs)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines()[-1] == f"{run['id']}: stopped"
    shown = json.loads(reins("show", run["id"], "--json", runs=runs).stdout)
    assert shown["status"] == "stopped"

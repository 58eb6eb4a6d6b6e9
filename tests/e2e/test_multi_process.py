"""Several processes for real: two ranks training on the CPU, and two "machines" on this host sharing one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.e2e
@pytest.mark.parametrize("method", ["dpo", "sft"])
def test_two_real_ranks_train_on_the_cpu(method: str, tmp_path: Path, tiny_model: Path, metric_events, reins,
                                         tiny_recipe) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, method, steps=3, data={"eval": None, "max_rows": 16},
                  distributed={"num_processes": 2})
    res = reins("run", str(recipe), "--wait", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    run = json.loads(res.stdout)
    assert run["status"] == "completed" and run["distributed"]["world_size"] == 2
    ranks = run["summary"]["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1]
    events = metric_events(Path(run["path"]))
    assert [e["step"] for e in events] == [1, 2, 3]  # one events file, each step once (rank 0 only writes)
    logged = [e["values"]["loss"] for e in events]
    # Both ranks trained and saw the same, rank-averaged loss that rank 0 wrote.
    assert ranks[0]["losses"] == ranks[1]["losses"] == pytest.approx(logged)
    assert all("peak_rss_gb" in r or "peak_mem_gb" in r for r in ranks)  # per-rank peaks recorded
    assert len(list(Path(run["path"]).glob("events*.jsonl"))) == 1


@pytest.mark.e2e
def test_two_machines_simulated_on_this_host_share_one_run(tmp_path: Path, tiny_model: Path, metric_events, reins,
                                                           tiny_recipe) -> None:
    from engine.launching.distributed import free_port

    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=3, data={"eval": None, "max_rows": 16})
    port = free_port()
    common = ["run", str(recipe), "--run-id", "two-nodes", "--wait", "--json",
              "--set", "distributed.num_machines=2", "--set", "distributed.main_process_ip=127.0.0.1",
              "--set", f"distributed.main_process_port={port}"]
    env = {**os.environ, "REINS_RUNS_DIR": str(runs)}
    nodes = [subprocess.Popen([sys.executable, "-m", "engine", *common, "--set", f"distributed.machine_rank={k}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=Path(__file__).resolve().parents[2]) for k in (0, 1)]
    outs = [p.communicate(timeout=600) for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    run = json.loads(outs[0][0])
    assert run["id"] == "two-nodes" and run["status"] == "completed" and run["distributed"]["world_size"] == 2
    assert json.loads(outs[1][0])["id"] == "two-nodes"  # the second machine followed the same run
    ranks = run["summary"]["ranks"]
    assert ranks[0]["losses"] == ranks[1]["losses"] == pytest.approx(
        [e["values"]["loss"] for e in metric_events(runs / "two-nodes")])
    assert (runs / "two-nodes" / "accelerate_config.rank1.yaml").is_file()
    assert reins("ls", "--json", runs=runs).stdout.count('"id": "two-nodes"') == 1

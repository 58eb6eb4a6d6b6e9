"""A β sweep through the real CLI, queue, scheduler and worker on the tiny model: both members train one after the
other and `reins sweep show` ranks them by their evaluation's headline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runs import events as ev
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e


def test_sweep_two_betas_ranked_by_the_evaluation(tmp_path: Path, tiny_model: Path, tiny_recipe, reins) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, report={"samples": 4, "max_new_tokens": 8})
    res = reins("sweep", str(recipe), "--grid", "method.beta=0.1,0.5", "--set", "train.max_steps=4", "--wait",
                "--json", runs=runs, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    shown = json.loads(res.stdout)
    assert shown["status"] == "completed" and shown["metric_used"] == "headline"
    ids = [m["run_id"] for m in shown["members"]]
    records = [json.loads((runs / i / "run.json").read_text()) for i in ids]
    assert [r["sweep"]["settings"] for r in records] == [{"method.beta": 0.1}, {"method.beta": 0.5}]
    assert [r["sweep"]["id"] for r in records] == [shown["id"]] * 2
    # Members are ordinary runs with their own reports, trained one after the other on this CPU.
    spans = []
    for i in ids:
        statuses = [e for e in ev.read_all(RunDir(runs / i).events) if e["kind"] == "status"]
        spans.append((next(e["t"] for e in statuses if e["status"] == "starting"), statuses[-1]["t"]))
        assert (runs / i / "report.json").is_file()
    assert spans[1][0] >= spans[0][1]
    points = shown["points"]
    assert sorted(p["rank"] for p in points) == [1, 2]
    assert all(p["mean"] is not None and p["n_scored"] == 1 for p in points)
    assert all(r["headline"]["metric"] == "pair accuracy per token" for r in records)

    res = reins("sweep", "show", shown["id"], runs=runs)
    assert res.returncode == 0, res.stderr
    assert "beta" in res.stdout and "ranked by headline" in res.stdout
    res = reins("sweep", "ls", "--json", runs=runs)
    assert [s["id"] for s in json.loads(res.stdout)] == [shown["id"]]

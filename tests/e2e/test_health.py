"""Live red-flag alerts through the real worker subprocess on the tiny random Llama, with deliberately bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runs import events as ev

pytestmark = pytest.mark.e2e


def alert_events(run_dir: Path) -> list[dict]:
    return [e for e in ev.read_all(run_dir / "events.jsonl") if e["kind"] == "alert"]


def test_too_low_learning_rate_warns_once_and_the_run_completes(tmp_path: Path, tiny_model: Path, reins,
                                                                 tiny_recipe) -> None:
    runs = tmp_path / "runs"
    # plain DPO (no SFT term): its loss sits at ln 2 while nothing learns; the bundled recipe's SFT term adds each
    # batch's own NLL, a loss that is noisy rather than flat (margins_not_growing still says nothing is learned)
    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=8, train={"learning_rate": 1e-9, "eval_on_start": False},
                         alerts={"window": 3}, method={"sft_weight": 0.0})
    res = reins("run", str(recipe), "--wait", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    run = json.loads(res.stdout)
    run_dir = Path(run["path"])
    alerts = alert_events(run_dir)
    # loss pinned at ln 2 for 8 steps: one loss_flat episode (not one alert per step); margins need 2 windows of 3
    assert [a["rule"] for a in alerts].count("loss_flat") == 1
    flat = next(a for a in alerts if a["rule"] == "loss_flat")
    assert flat["severity"] == "warning" and flat["step"] == 3 and "learning rate too low" in flat["message"]
    assert flat["evidence"]["metric"] == "loss" and flat["evidence"]["steps"] == [1, 2, 3]
    assert all(a["severity"] == "warning" for a in alerts)
    final = [e for e in ev.read_all(run_dir / "events.jsonl") if e.get("status") == "completed"][0]["summary"]
    assert final["alerts"] == len(alerts) and "stop_reason" not in final
    again = reins("health", run["id"], "--json", runs=runs)
    assert again.returncode == 0
    # the same alerts at the same steps as the worker raised live: one monitor, fed the same events in order
    assert sorted((a["rule"], a["step"]) for a in json.loads(again.stdout)["alerts"]) == \
        sorted((a["rule"], a["step"]) for a in alerts)


def test_stop_on_error_stops_a_diverging_run(tmp_path: Path, tiny_model: Path, metric_events, reins,
                                             tiny_recipe) -> None:
    runs = tmp_path / "runs"
    # Full fine-tuning with the IPO loss, SGD at lr 0.9 and no clipping: gradients overflow within a few steps.
    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=20, lora=None, method={"loss_type": "ipo", "beta": 0.01},
                  train={"learning_rate": 0.9, "optimizer": "sgd", "max_grad_norm": 1e9, "max_length": 128,
                         "lr_scheduler": "constant", "warmup_ratio": 0.0, "eval_on_start": False},
                  data={"max_rows": 64}, alerts={"stop_on_error": True})
    res = reins("run", str(recipe), "--wait", "--json", runs=runs)
    assert res.returncode == 1, res.stderr[-3000:]  # stopped, not completed
    run = json.loads(res.stdout)
    assert run["status"] == "stopped"
    run_dir = Path(run["path"])
    errors = [a for a in alert_events(run_dir) if a["severity"] == "error"]
    assert [a["rule"] for a in errors] == ["loss_nonfinite"]
    steps = [e["step"] for e in metric_events(run_dir)]
    assert steps[-1] == errors[0]["step"] < 20  # it stopped at the step that raised the alert
    stopped = [e for e in ev.read_all(run_dir / "events.jsonl") if e.get("status") == "stopped"][0]
    assert "loss_nonfinite" in stopped["reason"] and "stop_on_error" in stopped["reason"]
    assert stopped["summary"]["stop_reason"] == stopped["reason"]
    assert json.loads((run_dir / "run.json").read_text())["reason"] == stopped["reason"]
    assert any((run_dir / "checkpoints").glob("checkpoint-*"))
    health = reins("health", str(run_dir), runs=runs)
    assert health.returncode == 1 and "loss_nonfinite" in health.stdout

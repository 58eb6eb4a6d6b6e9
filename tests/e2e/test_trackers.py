"""Experiment trackers and `method.trl` through the real worker: a TensorBoard-logged tiny run's event files hold
the same train losses per step as Reins' own events, and its TRL config holds the `method.trl` setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_tensorboard_event_files_hold_the_losses_of_events_jsonl(tmp_path: Path, tiny_model: Path, reins,
                                                                tiny_recipe, metric_events) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=4, train={"report_to": ["tensorboard"]},
                         report={"enabled": False}, method={"trl": {"logging_nan_inf_filter": False}})
    res = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "runs")
    assert res.returncode == 0, res.stderr[-3000:]
    run_dir = Path(json.loads(res.stdout)["path"])
    losses = {e["step"]: e["values"]["loss"] for e in metric_events(run_dir) if "loss" in e["values"]}
    assert sorted(losses) == [1, 2, 3, 4]
    logs = list((run_dir / "tb").glob("events.out.tfevents.*"))
    assert logs, "no TensorBoard event file in the run's tb/ folder"
    acc = EventAccumulator(str(run_dir / "tb"))
    acc.Reload()
    logged = {s.step: s.value for s in acc.Scalars("train/loss")}
    assert sorted(logged) == sorted(losses)
    assert all(abs(logged[step] - loss) <= 1e-6 for step, loss in losses.items())
    # method.trl reached TRL's config (saved beside the final weights), recorded among the key settings
    import torch

    args = torch.load(run_dir / "final" / "training_args.bin", weights_only=False)
    assert args.logging_nan_inf_filter is False and args.report_to == ["tensorboard"]
    assert args.run_name == run_dir.name and args.project == "reins"
    assert json.loads((run_dir / "run.json").read_text())["settings"]["trl.logging_nan_inf_filter"] is False

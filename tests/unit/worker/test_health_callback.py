"""The worker callback's health hook, without training: alerts written once per episode, stop on error when asked."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from engine.recipe.schema import Recipe
from engine.runs import events as ev
from engine.runs.events import EventWriter


def recipe(**alerts) -> Recipe:
    return Recipe.model_validate({"data": {"train": "x.jsonl"}, "method": {"name": "dpo"}, "alerts": alerts})


def feed(tmp_path: Path, r: Recipe, losses: list) -> tuple[list[dict], threading.Event, object, SimpleNamespace]:
    from engine.worker.callback import EventsCallback

    stop = threading.Event()
    control = SimpleNamespace(should_save=False, should_training_stop=False)
    with EventWriter(tmp_path / "events.jsonl") as writer:
        cb = EventsCallback(writer, stop)
        cb.attach_health(r)
        for step, loss in enumerate(losses, 1):
            cb.on_metric({"kind": "metric", "step": step, "split": "train", "values": {"loss": loss}}, control)
    alerts = [e for e in ev.read_all(tmp_path / "events.jsonl") if e["kind"] == "alert"]
    return alerts, stop, cb, control


def test_alert_written_once_and_run_goes_on_by_default(tmp_path: Path) -> None:
    alerts, stop, cb, control = feed(tmp_path, recipe(), [0.7, float("nan"), float("nan"), float("nan")])
    assert [(a["rule"], a["severity"], a["step"]) for a in alerts] == [("loss_nonfinite", "error", 2)]
    assert alerts[0]["evidence"]["values"][-1] == "nan"
    assert not stop.is_set() and not control.should_training_stop and cb.stop_reason is None


def test_stop_on_error_sets_the_stop_and_the_reason(tmp_path: Path) -> None:
    alerts, stop, cb, control = feed(tmp_path, recipe(stop_on_error=True), [0.7, float("inf")])
    assert len(alerts) == 1 and stop.is_set() and control.should_training_stop and control.should_save
    assert cb.stop_reason.startswith("alert loss_nonfinite at step 2")


def test_disabled_alerts_write_nothing(tmp_path: Path) -> None:
    alerts, stop, cb, _ = feed(tmp_path, recipe(enabled=False, stop_on_error=True), [float("nan")] * 3)
    assert alerts == [] and not stop.is_set() and cb.health is None

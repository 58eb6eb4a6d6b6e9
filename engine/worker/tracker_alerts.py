"""Reins' red-flag alerts sent on to the experiment trackers that have alerts (W&B, trackio), beside the events."""

from __future__ import annotations

import importlib
from typing import Any

# Trackers with an `alert(title, text, level)` function and an `AlertLevel` enum of INFO, WARN, ERROR.
ALERTING = ("wandb", "trackio")


def send_alert(report_to: list[str], alert: Any) -> None:
    """Raise `alert` (an engine.verdict.rules.Alert) in every tracker of `report_to` that has the notion. A tracker
    that fails must not fail the run: its alert is already in events.jsonl."""
    for name in ALERTING:
        if name not in report_to:
            continue
        try:
            tracker = importlib.import_module(name)
            if name == "wandb" and tracker.run is None:
                continue  # the tracker's run ended or never started: nothing to attach the alert to
            level = tracker.AlertLevel.ERROR if alert.severity == "error" else tracker.AlertLevel.WARN
            tracker.alert(title=f"Reins: {alert.rule} at step {alert.step}", text=alert.message, level=level)
        except Exception as exc:  # noqa: BLE001 - see above
            print(f"[reins] {name} alert not sent: {exc!r}", flush=True)

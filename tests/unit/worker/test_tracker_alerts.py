"""Reins' alerts reach the trackers that have alerts (W&B, trackio), and a failing tracker never fails the run."""

from __future__ import annotations

import enum
import sys
import types

import pytest

from engine.verdict.history import Alert
from engine.worker.tracker_alerts import send_alert


class Level(enum.Enum):
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def _tracker(monkeypatch: pytest.MonkeyPatch, name: str, sent: list, fail: bool = False) -> None:
    def alert(title: str, text: str, level: Level) -> None:
        if fail:
            raise RuntimeError("offline")
        sent.append((name, title, text, level))

    module = types.SimpleNamespace(alert=alert, AlertLevel=Level, run=object())
    monkeypatch.setitem(sys.modules, name, module)


def _alert(severity: str) -> Alert:
    return Alert(rule="loss_nonfinite", severity=severity, step=7, message="loss is nan", evidence={})


def test_alerts_go_to_the_trackers_that_have_them(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list = []
    _tracker(monkeypatch, "wandb", sent)
    _tracker(monkeypatch, "trackio", sent)
    send_alert(["tensorboard", "wandb", "trackio"], _alert("error"))
    assert sent == [("wandb", "Reins: loss_nonfinite at step 7", "loss is nan", Level.ERROR),
                    ("trackio", "Reins: loss_nonfinite at step 7", "loss is nan", Level.ERROR)]
    sent.clear()
    send_alert(["trackio"], _alert("warning"))
    assert sent == [("trackio", "Reins: loss_nonfinite at step 7", "loss is nan", Level.WARN)]


def test_a_failing_tracker_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    _tracker(monkeypatch, "wandb", [], fail=True)
    send_alert(["wandb"], _alert("warning"))
    assert "wandb alert not sent: RuntimeError('offline')" in capsys.readouterr().out

"""A completed run stays completed when its report cannot be written, even when the report code cannot load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from engine.runs import events as ev
from engine.runs.rundir import RunDir


@pytest.mark.parametrize("breakage", ["import", "raise"])
def test_a_report_failure_never_fails_a_completed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], breakage: str) -> None:
    from engine.worker.main import _finish

    rd = RunDir(tmp_path / "20261201-000000-rm")
    rd.path.mkdir()
    rd.run_json.write_text(json.dumps({"id": rd.id, "status": "running"}))
    if breakage == "import":  # e.g. the code changed under a long run and no longer imports
        monkeypatch.setitem(sys.modules, "engine.verdict.report", None)
    else:
        import engine.verdict.report as report

        monkeypatch.setattr(report, "write_report", lambda path: 1 / 0)
    with ev.EventWriter(rd.events) as writer:
        assert _finish(rd, writer, "completed", {"steps": 30}) == 0
    statuses = [e["status"] for e in ev.read_all(rd.events) if e["kind"] == "status"]
    assert statuses == ["completed"] and rd.read()["status"] == "completed"
    assert "[reins] report not written" in capsys.readouterr().out


def test_an_evaluation_that_cannot_load_is_recorded_not_raised(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from engine.worker.main import _evaluate

    monkeypatch.setitem(sys.modules, "engine.worker.posteval", None)
    trainer = SimpleNamespace(state=SimpleNamespace(global_step=20))
    with ev.EventWriter(tmp_path / "events.jsonl") as writer:
        _evaluate(None, trainer, None, [], writer, tmp_path)
    (evaluation,) = ev.read_all(tmp_path / "events.jsonl")
    assert evaluation["kind"] == "evaluation" and evaluation["step"] == 20
    assert "import of engine.worker.posteval" in evaluation["values"]["errors"]["all"]  # under "Not in this report"

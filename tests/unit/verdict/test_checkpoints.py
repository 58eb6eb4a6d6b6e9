"""Which checkpoint was best: the selection rule on hand-made figures, and the report's Checkpoints section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.verdict.checkpoints import BEST_BY, best_step, checkpoints_markdown
from engine.verdict.report import evaluation_rows, write_report


def _entry(step: int, per_token: float, margin: float, final: bool = False) -> dict[str, Any]:
    e = {"step": step, "path": "final" if final else f"checkpoints/checkpoint-{step}", "accuracy": per_token - 0.05,
         "accuracy_per_token": per_token, "margin": margin, "margin_per_token": margin / 40}
    return {**e, "final": True} if final else e


def _checkpoints(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"pairs": 32, "steps": list(entries), "best_step": best_step(entries), "best_by": BEST_BY,
            "final_step": entries[-1]["step"]}


def test_per_token_accuracy_decides_first() -> None:
    # step 4 has the larger margin, step 8 the better per-token accuracy: accuracy wins
    assert best_step([_entry(4, 0.70, 9.0), _entry(8, 0.72, 1.0), _entry(12, 0.66, 5.0, final=True)]) == 8


def test_margin_breaks_an_accuracy_tie() -> None:
    assert best_step([_entry(4, 0.72, 3.0), _entry(8, 0.72, 2.0), _entry(12, 0.66, 5.0, final=True)]) == 4


def test_a_full_tie_goes_to_the_later_step() -> None:
    # an earlier checkpoint is recommended only when it measured strictly better
    assert best_step([_entry(4, 0.72, 3.0), _entry(8, 0.72, 3.0, final=True)]) == 8


def test_a_diverged_checkpoint_never_wins() -> None:
    nan = {**_entry(4, 0.0, 0.0), "accuracy_per_token": "nan", "margin": "nan"}  # NaN as events store it
    assert best_step([nan, _entry(8, 0.1, -50.0, final=True)]) == 8
    with pytest.raises(ValueError):
        best_step([])


def test_section_marks_the_best_and_names_the_folder_to_keep() -> None:
    ck = _checkpoints(_entry(4, 0.60, 1.0), _entry(8, 0.72, 3.0), _entry(20, 0.66, 2.5, final=True))
    text = "\n".join(checkpoints_markdown(ck, alerts=[]))
    assert "## Checkpoints" in text and "| 8 (`checkpoints/checkpoint-8`) | 0.670 | 0.720 | 3.00 | **best** |" in text
    assert "| 20 (final) |" in text and text.count("**best**") == 1
    assert ("step 8 beat the final step 20 on held-out pairs (0.720 vs 0.660 per-token accuracy): "
            "`checkpoints/checkpoint-8` is the one to keep") in text
    assert "advised stopping earlier" not in text  # no alert fired


def test_a_stop_earlier_alert_is_joined_to_the_measurement() -> None:
    alerts = [{"rule": "loss_flat", "step": 2}, {"rule": "accuracy_overfit", "step": 5, "severity": "warning"}]
    earlier = _checkpoints(_entry(8, 0.72, 3.0), _entry(20, 0.66, 2.5, final=True))
    line = [s for s in checkpoints_markdown(earlier, alerts) if "accuracy_overfit" in s]
    assert line == ["- `accuracy_overfit` (step 5) advised stopping earlier, and the held-out pairs agree: step 8 "
                    "scored better than the final step 20."]
    final_best = _checkpoints(_entry(8, 0.60, 3.0), _entry(20, 0.66, 2.5, final=True))
    text = "\n".join(checkpoints_markdown(final_best, alerts))
    assert "no saved checkpoint beat the final weights" in text and "is the one to keep" not in text
    assert "loss_flat" not in text  # its advice is not about stopping earlier


def test_margin_is_quoted_when_it_decided() -> None:
    ck = _checkpoints(_entry(8, 0.66, 3.0), _entry(20, 0.66, 2.5, final=True))
    assert "(0.660 vs 0.660 per-token accuracy, margin 3.00 vs 2.50 nats)" in "\n".join(checkpoints_markdown(ck, []))


def test_report_files_and_comparison_row(tmp_path: Path) -> None:
    ck = _checkpoints(_entry(8, 0.72, 3.0), _entry(20, 0.66, 2.5, final=True))
    run = tmp_path / "20261127-000000-dpo"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"id": run.name, "method": "dpo"}))
    events = [{"t": 1, "kind": "status", "status": "running", "max_steps": 20},
              {"t": 2, "kind": "evaluation", "step": 20, "values": {"checkpoints": ck, "samples": 0}},
              {"t": 3, "kind": "status", "status": "completed"}]
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    rep = write_report(run)
    assert rep.evaluation["checkpoints"]["best_step"] == 8
    assert "`checkpoints/checkpoint-8` is the one to keep" in (run / "report.md").read_text()
    assert json.loads((run / "report.json").read_text())["evaluation"]["checkpoints"] == ck
    assert evaluation_rows({"checkpoints": ck})["best checkpoint"] == "step 8 of 20"
    assert "best checkpoint" not in evaluation_rows({})

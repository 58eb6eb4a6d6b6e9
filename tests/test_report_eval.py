"""The report's post-training part, from run directories written by hand: pair verdict, win rate, perplexity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.report import write_report


def _pairs(ref_acc: float, pol_acc: float, ref_margin: float, pol_margin: float) -> dict[str, Any]:
    side = {"accuracy_per_token": 0.5, "margin_per_token": 0.0, "logps_chosen": -80.0, "logps_rejected": -90.0}
    return {"pairs": 32, "reference": {**side, "accuracy": ref_acc, "margin": ref_margin},
            "policy": {**side, "accuracy": pol_acc, "margin": pol_margin}}


def _run(tmp_path: Path, values: dict[str, Any], samples: int = 2) -> Path:
    run = tmp_path / "20261127-000000-dpo"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"id": run.name, "method": "dpo"}))
    evs: list[dict[str, Any]] = [{"t": 1, "kind": "status", "status": "running", "max_steps": 20}]
    for step, acc, margin in ((0, 0.0, 0.0), (20, 1.0, 0.6)):
        evs.append({"t": 2 + step, "kind": "metric", "split": "eval", "step": step,
                    "values": {"rewards/accuracies": acc, "rewards/margins": margin, "logps/chosen": -80.0,
                               "logps/rejected": -90.0 - step}})
    evs += [{"t": 30, "kind": "sample", "step": 20, "index": i, "prompt": f"question {i}", "reference": "ref answer",
             "policy": "policy answer", "winner": "policy" if i else "tie"} for i in range(samples)]
    evs.append({"t": 31, "kind": "evaluation", "step": 20, "values": values})
    evs.append({"t": 32, "kind": "status", "status": "completed"})
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evs))
    return run


def _ppl(change: float, regressed: bool) -> dict[str, Any]:
    return {"source": "plain.jsonl", "texts": 24, "tokens": 1300, "reference": 10.0,
            "policy": 10.0 * (1 + change / 100), "change_pct": change, "max_increase_pct": 10.0, "regressed": regressed}


def test_pair_log_probs_give_a_measured_before(tmp_path: Path) -> None:
    judge = {"kind": "openai", "model": "j", "wins": 1, "ties": 1, "losses": 0, "n": 2, "win_rate": 0.75,
             "ci95": [0.3, 0.95]}
    rep = write_report(_run(tmp_path, {"preference": _pairs(0.41, 0.66, -3.2, 4.1), "perplexity": _ppl(2.0, False),
                                       "judge": judge, "samples": 2}))
    assert rep.verdict.startswith("improved:") and "0.410 → 0.660" in rep.verdict and "+4.10" in rep.verdict
    assert "implicit-reward accuracy at the end 1.000" in rep.verdict
    assert len(rep.samples) == 2 and rep.samples[1]["winner"] == "policy"
    assert rep.missing == []
    md = (tmp_path / "20261127-000000-dpo" / "report.md").read_text()
    assert "| accuracy, summed log-prob | 0.4100 | 0.6600 |" in md
    assert "win rate of the policy against the reference: 0.750 (95% CI 0.30–0.95) over 2 prompts" in md
    assert "within limit" in md and "> question 1" in md and "judged: **policy**" in md


def test_no_gain_on_pairs_is_not_called_improved(tmp_path: Path) -> None:
    rep = write_report(_run(tmp_path, {"preference": _pairs(0.5, 0.45, 1.0, 0.5), "samples": 2}))
    assert rep.verdict.startswith("not improved:")
    assert any(m.startswith("win rate: no judge configured") for m in rep.missing)


def test_perplexity_regression_makes_the_verdict_suspect(tmp_path: Path) -> None:
    rep = write_report(_run(tmp_path, {"preference": _pairs(0.4, 0.7, -1.0, 2.0), "perplexity": _ppl(35.0, True)}))
    assert rep.verdict.startswith("suspect: improved") and "capability regression" in rep.verdict
    assert "+35.0%" in rep.verdict
    assert "**regressed**" in (tmp_path / "20261127-000000-dpo" / "report.md").read_text()


def test_failed_parts_are_listed_not_hidden(tmp_path: Path) -> None:
    rep = write_report(_run(tmp_path, {"errors": {"judge": "JudgeError: the judge at http://x could not be reached"}},
                            samples=0))
    assert "judge: JudgeError: the judge at http://x could not be reached" in rep.missing
    # without pair figures the verdict falls back to TRL's eval metrics
    assert rep.verdict.startswith("improved: held-out preference accuracy 0.000 → 1.000")


def test_a_run_without_evaluation_says_why(tmp_path: Path) -> None:
    run = _run(tmp_path, {})
    lines = [line for line in (run / "events.jsonl").read_text().splitlines() if '"evaluation"' not in line]
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    rep = write_report(run)
    assert rep.evaluation == {} and "no `evaluation` event" in rep.missing[0]

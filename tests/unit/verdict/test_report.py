"""The report's post-training part, from run directories written by hand: pair verdict, win rate, perplexity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.verdict.report import write_report


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
    assert rep.verdict.startswith("improved:") and "0.410 → 0.660 by summed" in rep.verdict and "+4.10" in rep.verdict
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
    assert "+35.00%" in rep.verdict
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


def test_nearest_rank_quantiles() -> None:
    from engine.worker.measuring import quantiles

    q = quantiles([float(v) for v in range(100, 0, -1)])  # 100 values, given in reverse
    assert q == {"min": 1.0, "p5": 6.0, "p50": 51.0, "p95": 96.0}
    assert quantiles([-250.0]) == {"min": -250.0, "p5": -250.0, "p50": -250.0, "p95": -250.0}


def test_progress_line_summarises_the_evaluation() -> None:
    from engine.cli.render import progress_line

    line = progress_line({"kind": "evaluation", "values": {
        "preference": _pairs(0.4, 0.7, -1.0, 2.0), "perplexity": _ppl(35.0, True), "samples": 4,
        "errors": {"judge": "JudgeError: gone"}}}, "dpo")
    assert line == ("post-training evaluation: pair accuracy 0.4000 → 0.7000 (reference → policy, 32 pairs); "
                    "perplexity +35.0% REGRESSED; 4 samples; judge failed: JudgeError: gone")


def test_judging_stored_samples_after_the_run(tmp_path: Path, fake_judge, prefers_longer, reins) -> None:
    run = _run(tmp_path, {"preference": _pairs(0.4, 0.7, -1.0, 2.0), "samples": 3,
                          "errors": {"judge": "JudgeError: gone"}}, samples=3)
    # make the policy's answers longer in two of three samples, equal in one
    lines = []
    for line in (run / "events.jsonl").read_text().splitlines():
        e = json.loads(line)
        if e["kind"] == "sample":
            e["policy"] = "ref answer" if e["index"] == 0 else "a longer policy answer"
        lines.append(json.dumps(e))
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    with fake_judge(prefers_longer) as fake:
        res = reins("report", str(run), "--judge-url", fake["url"], "--judge-model", "late-judge", "--json",
                    timeout=120)
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert [s["winner"] for s in rep["samples"]] == ["tie", "policy", "policy"]  # replaced, not duplicated
    assert rep["evaluation"]["judge"]["model"] == "late-judge" and rep["evaluation"]["judge"]["wins"] == 2
    assert "errors" not in rep["evaluation"] and not any("judge" in m for m in rep["missing"])
    assert len(fake["requests"]) == 4  # the identical pair was not sent


def test_judging_needs_a_finished_run_with_samples(tmp_path: Path) -> None:
    from engine.recipe.schema import ChatJudge
    from engine.verdict.rejudge import rejudge
    from engine.verdict.report import ReportError

    cfg = ChatJudge(kind="openai", url="http://127.0.0.1:9/v1", model="m")
    run = _run(tmp_path, {"samples": 0}, samples=0)
    with pytest.raises(ReportError, match="nothing to judge"):
        rejudge(run, cfg)
    with (run / "events.jsonl").open("a") as fh:
        fh.write(json.dumps({"t": 40, "kind": "status", "status": "running"}) + "\n")
    with pytest.raises(ReportError, match="has not finished"):
        rejudge(run, cfg)


def test_pair_verdict_words() -> None:
    from engine.verdict.report import pair_verdict

    def pref(a0: float, a1: float, t0: float, t1: float, m0: float, m1: float) -> dict[str, Any]:
        return {"pairs": 32, "reference": {"accuracy": a0, "accuracy_per_token": t0, "margin": m0},
                "policy": {"accuracy": a1, "accuracy_per_token": t1, "margin": m1}}

    # the demo's shape: summed accuracy unchanged, per-token accuracy and margin up
    assert pair_verdict(pref(0.594, 0.594, 0.063, 0.094, 42.2, 48.3), {}).startswith("improved:")
    assert pair_verdict(pref(0.6, 0.5, 0.1, 0.2, 1.0, 2.0), {}).startswith("mixed:")  # one accuracy fell
    assert pair_verdict(pref(0.6, 0.6, 0.1, 0.1, 2.0, 1.0), {}).startswith("not improved:")


def test_a_looping_policy_answer_makes_the_verdict_suspect(tmp_path: Path) -> None:
    from engine.verdict.report import repetition

    loop = "I'm not afraid of the unknown either. " * 8
    prose = "Ask your manager for specific examples, agree on check-ins, and write down what good looks like."
    assert repetition(loop) > 0.6 and repetition(prose) == 0.0 and repetition("too short") == 0.0
    run = _run(tmp_path, {"preference": _pairs(0.4, 0.7, -1.0, 2.0), "samples": 2})
    lines = []
    for line in (run / "events.jsonl").read_text().splitlines():
        e = json.loads(line)
        if e["kind"] == "sample":
            e["reference"], e["policy"] = prose, (loop if e["index"] == 1 else prose)
        lines.append(json.dumps(e))
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    rep = write_report(run)
    loops = rep.evaluation["repetition"]
    assert loops["policy_looping"] == 1 and loops["reference_looping"] == 0
    assert rep.verdict.startswith("suspect: improved") and "1 policy answer(s) loop" in rep.verdict


def test_a_diverged_policy_reads_as_not_finite_not_a_traceback(tmp_path: Path) -> None:
    from engine.cli.render import progress_line

    pairs = _pairs(0.4, 0.0, -1.0, 2.0)
    pairs["policy"].update(margin="nan", logps_chosen="nan", logps_chosen_quantiles={
        "min": "nan", "p5": "nan", "p50": "nan", "p95": "nan"})
    pairs["reference"]["logps_chosen_quantiles"] = {"min": -9.0, "p5": -8.0, "p50": -5.0, "p95": -1.0}
    ppl = {"source": "x", "texts": 2, "tokens": 50, "reference": 40.0, "policy": None, "change_pct": None,
           "max_increase_pct": 10.0, "regressed": True, "note": "perplexity is not finite: the weights diverged"}
    rep = write_report(_run(tmp_path, {"preference": pairs, "perplexity": ppl}))
    assert rep.verdict.startswith("suspect: not improved: the policy's held-out log-probs are not finite")
    assert "40.000 (reference) → not finite (policy)" in rep.verdict
    md = (tmp_path / "20261127-000000-dpo" / "report.md").read_text()
    assert "reference -9.0 / -8.0 / -5.0 / -1.0 → policy nan / nan / nan / nan" in md
    assert "perplexity not finite REGRESSED" in progress_line({"kind": "evaluation", "values": {"perplexity": ppl}},
                                                              "dpo")


def test_reward_model_report_uses_its_own_accuracy_and_has_no_log_prob_section(tmp_path: Path) -> None:
    run = tmp_path / "20261127-070301-judge-rm"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"id": run.name, "method": "rm"}))
    evs = [{"t": 1, "kind": "status", "status": "running", "max_steps": 30},
           {"t": 2, "kind": "metric", "split": "eval", "step": 0,
            "values": {"loss": 0.77, "accuracy": 0.1875, "margin": -0.1435, "num_tokens": 0.0}},
           {"t": 3, "kind": "metric", "split": "train", "step": 30, "values": {"loss": 0.08}},
           {"t": 4, "kind": "metric", "split": "eval", "step": 30,
            "values": {"loss": 0.05, "accuracy": 1.0, "margin": 3.3728, "num_tokens": 38316.0}},
           {"t": 5, "kind": "status", "status": "completed"}]
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evs))
    rep = write_report(run)
    assert rep.verdict == "improved: held-out preference accuracy 0.188 → 1.000, margin -0.143 → 3.373"
    assert rep.logps == {} and rep.missing == []
    md = (run / "report.md").read_text()
    assert "Log-prob sanity" not in md and "| accuracy | 0.1875 | 1.0000 |" in md

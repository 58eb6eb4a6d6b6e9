"""Keep / don't keep / inconclusive: each rule flips the verdict on its own; runs rank by verdict then headline."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from engine.recipe.schema import VerdictSection
from engine.verdict.decision import DONT_KEEP, INCONCLUSIVE, KEEP, decide, rank_key, short_verdict, verdict_cell
from engine.verdict.report import write_report


def _judge(wins: int, ties: int, losses: int, ci: tuple[float, float]) -> dict[str, Any]:
    n = wins + ties + losses
    return {"kind": "reward_model", "model": "run:x", "wins": wins, "ties": ties, "losses": losses, "n": n,
            "win_rate": (wins + ties / 2) / n, "ci95": list(ci)}


GOOD: dict[str, Any] = {
    "judge": _judge(24, 2, 6, (0.60, 0.86)),
    "probes": {"arithmetic": {"dropped": False}, "format": {"dropped": False}},
    "repetition": {"reference": 0.02, "policy": 0.03, "reference_looping": 1, "policy_looping": 1},
    "perplexity": {"change_pct": 3.0, "regressed": False, "max_increase_pct": 10.0, "reference": 10.0,
                   "policy": 10.3, "texts": 24, "tokens": 1300},
    "preference": {"pairs": 32, "reference": {"accuracy_per_token": 0.4}, "policy": {"accuracy_per_token": 0.6}},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    ev = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = ev
    for key in parents:
        node = node[key]
    node[last] = value
    return ev


def test_all_rules_passing_is_keep() -> None:
    d = decide(GOOD, [])
    assert d.verdict == KEEP
    assert [r.outcome for r in d.rules] == ["pass"] * 5
    assert d.headline == {"metric": "win rate", "value": 0.78125, "low": 0.60, "high": 0.86, "n": 32}


@pytest.mark.parametrize(("evaluation", "alerts", "verdict", "rule"), [
    (_with("judge", _judge(15, 4, 13, (0.38, 0.70))), [], INCONCLUSIVE, "win_rate"),  # straddles 0.5
    (_with("judge", _judge(4, 2, 26, (0.08, 0.33))), [], DONT_KEEP, "win_rate"),  # the reference is better
    ({k: v for k, v in GOOD.items() if k != "judge"}, [], INCONCLUSIVE, "win_rate"),  # no judge: not shown
    (_with("probes.arithmetic", {"dropped": True}), [], DONT_KEEP, "capability_probes"),
    (_with("repetition.policy_looping", 2), [], DONT_KEEP, "looping"),
    (_with("perplexity", {**GOOD["perplexity"], "change_pct": 14.0, "regressed": True}), [], DONT_KEEP, "perplexity"),
    (GOOD, [{"rule": "loss_nonfinite", "severity": "error"}], DONT_KEEP, "error_alerts"),
])
def test_each_rule_flips_the_verdict_on_its_own(evaluation: dict[str, Any], alerts: list[dict[str, Any]],
                                                verdict: str, rule: str) -> None:
    d = decide(evaluation, alerts)
    assert d.verdict == verdict
    changed = [r.name for r in d.rules if r.outcome != "pass"]
    assert changed == [rule]


def test_thresholds_are_recipe_settings() -> None:
    strict = VerdictSection(min_win_rate_lower=0.65)
    assert decide(GOOD, [], strict).verdict == INCONCLUSIVE  # 0.60 is no longer enough
    lenient = VerdictSection(max_extra_looping=1, max_probe_drops=1, error_alerts=False)
    ev = _with("repetition.policy_looping", 2)
    ev["probes"]["format"]["dropped"] = True
    assert decide(ev, [{"rule": "loss_nonfinite", "severity": "error"}], lenient).verdict == KEEP
    rules = {r.name: r for r in decide(GOOD, [], strict).rules}
    assert "above 0.65" in rules["win_rate"].rule and "0.60–0.86" in rules["win_rate"].measured


def test_warnings_do_not_count_as_error_alerts() -> None:
    assert decide(GOOD, [{"rule": "accuracy_overfit", "severity": "warning"}]).verdict == KEEP


def test_without_a_judge_the_headline_is_the_measured_pair_preference() -> None:
    d = decide({k: v for k, v in GOOD.items() if k != "judge"}, [])
    # 0.6 of 32 pairs: the 95% interval solves (0.6 - x)² = 1.96²·x(1 - x)/32 (the score test, solved by hand)
    assert d.headline == {"metric": "pair accuracy per token", "value": 0.6, "low": 0.4285, "high": 0.75,
                          "before": 0.4, "n": 32}


def test_runs_rank_by_verdict_then_lower_bound() -> None:
    runs = [{"id": "none"}, {"id": "drop", "verdict": DONT_KEEP, "headline": {"value": 0.9, "low": 0.8}},
            {"id": "keep-narrow", "verdict": KEEP, "headline": {"value": 0.62, "low": 0.55}},
            {"id": "maybe", "verdict": INCONCLUSIVE, "headline": {"value": 0.7, "low": 0.45}},
            {"id": "keep-wide", "verdict": KEEP, "headline": {"value": 0.7, "low": 0.52}}]
    assert [r["id"] for r in sorted(runs, key=rank_key)] == ["keep-narrow", "keep-wide", "maybe", "drop", "none"]
    assert verdict_cell(runs[2]) == "keep 0.62" and verdict_cell(runs[0]) == ""
    assert [short_verdict(r) for r in runs] == ["", "drop .90", "keep .62", "unsure .70", "keep .70"]


def test_the_report_writes_the_verdict_into_run_json_and_report_md(tmp_path: Path) -> None:
    run = tmp_path / "20261127-000000-dpo"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"id": run.name, "method": "dpo"}))
    events = [{"t": 1, "kind": "status", "status": "running", "max_steps": 20},
              {"t": 2, "kind": "evaluation", "step": 20, "values": {k: GOOD[k] for k in ("judge", "perplexity")}},
              {"t": 3, "kind": "status", "status": "completed"}]
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    rep = write_report(run)
    assert rep.decision is not None and rep.decision["verdict"] == KEEP
    record = json.loads((run / "run.json").read_text())
    assert record["verdict"] == KEEP and record["headline"]["low"] == 0.60
    md = (run / "report.md").read_text()
    assert "## Verdict: keep" in md and "| the win rate's 95% interval lies above 0.5 |" in md
    assert "| no capability suite" not in md and "not measured" in md  # no probes, no samples: said, not hidden


def test_a_win_carried_by_longer_answers_must_hold_on_pairs_of_similar_length() -> None:
    longer = {**GOOD["judge"], "policy_much_longer": True, "length_ratio": 1.8,
              "length_matched": {**_judge(5, 1, 5, (0.25, 0.75)), "n": 11}}
    d = decide({**GOOD, "judge": longer}, [])
    assert d.verdict == INCONCLUSIVE
    assert "1.80× longer" in d.rules[0].measured and "length-matched 0.500 (0.25–0.75) over 11 pairs" in \
        d.rules[0].measured
    holds = {**longer, "length_matched": {**_judge(9, 0, 1, (0.6, 0.98)), "n": 10}}
    assert decide({**GOOD, "judge": holds}, []).verdict == KEEP
    nothing_alike = {**longer, "length_matched": {"n": 0}}
    assert decide({**GOOD, "judge": nothing_alike}, []).verdict == INCONCLUSIVE

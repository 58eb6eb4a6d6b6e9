"""The recorded-trace library: each rule fires on its failing traces and stays silent on every healthy trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.verdict.healthcheck import check

TRACES = Path(__file__).resolve().parents[2] / "traces"

# trace file -> the alerts (rule, first step) the rules must raise on it, exactly; {} for healthy runs.
EXPECTED: dict[str, set[tuple[str, int]]] = {
    # real runs
    # the bundled demo: train accuracy 1.0 from step 3 of 20 (the overfitting red flag it long went without)
    "demo-dpo-embedded-30.jsonl": {("accuracy_overfit", 5)},
    "demo-dpo-embedded-20.jsonl": {("accuracy_overfit", 5)},
    # today's `make demo`, recorded before anything retunes the recipe: the worker raised the same alert live
    "demo-dpo-embedded-20-2026-12-01.jsonl": {("accuracy_overfit", 5)},
    "overfit-dpo-4-rows.jsonl": {("accuracy_overfit", 5), ("eval_margin_divergence", 20)},
    "not-learning-lr-1e-9.jsonl": {("loss_flat", 8), ("margins_not_growing", 16)},
    # step 4: grad_norm NaN once (a skipped step); from step 5 the loss reads 0.0 and the log-probs are NaN
    "nan-loss-ipo-sgd.jsonl": {("rejected_logps_collapse", 3), ("loss_nonfinite", 5)},
    "collapse-dpo-lr-100x.jsonl": {("accuracy_overfit", 5), ("rejected_logps_collapse", 4),
                                   ("chosen_rewards_falling", 8), ("logps_both_falling", 8)},
    # hand-written (no RL trainer in the engine yet)
    "ppo-healthy.jsonl": set(),
    "ppo-reward-hacking.jsonl": {("reward_hacking", 27), ("kl_too_high", 29)},
    "ppo-value-divergence-negative-kl.jsonl": {("kl_negative", 18), ("value_loss_diverging", 20), ("reward_flat", 32)},
    "grpo-healthy.jsonl": set(),
    "grpo-length-collapse.jsonl": {("response_length_collapse", 21)},
    "trl-trainer-state-demo.json": {("accuracy_overfit", 5)},
    "trl-trainer-state-nan.json": {("loss_nonfinite", 6)},
}
HEALTHY = [name for name, alerts in EXPECTED.items() if not alerts]


def test_every_trace_file_is_listed_and_small() -> None:
    files = {p.name for p in TRACES.iterdir() if p.suffix in (".jsonl", ".json")}
    assert files == set(EXPECTED)
    assert all((TRACES / f).stat().st_size < 64 * 1024 for f in files)


def test_every_trace_says_where_it_came_from() -> None:
    for name in EXPECTED:
        text = (TRACES / name).read_text()
        if name.endswith(".jsonl"):
            note = json.loads(text.splitlines()[0])
            assert note["kind"] == "note" and note["origin"] in ("real", "hand-written") and note["text"]
        else:
            assert "_note" in json.loads(text)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_trace_raises_exactly_the_expected_alerts(name: str) -> None:
    result = check(str(TRACES / name))
    assert {(a.rule, a.step) for a in result.alerts} == EXPECTED[name]
    for alert in result.alerts:
        assert alert.severity in ("warning", "error") and len(alert.message) > 80
        assert alert.evidence and ("steps" in alert.evidence or any("steps" in v for v in alert.evidence.values()
                                                                      if isinstance(v, dict)))


def test_each_failing_trace_fires_each_rule_once() -> None:
    for name in EXPECTED:
        rules = [a.rule for a in check(str(TRACES / name)).alerts]
        assert len(rules) == len(set(rules)), name  # one alert per episode, not one per step


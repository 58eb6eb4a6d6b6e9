"""Unit tests of the red-flag rules on small synthetic series: each fires on its symptom, not on noise."""

from __future__ import annotations

import math
import random

import pytest
from pydantic import ValidationError

from engine.recipe.schema import AlertsSection, Recipe
from engine.verdict.history import History, as_float, kendall_tau, robust_z
from engine.verdict.monitor import Monitor, evaluate
from engine.verdict.rules import RULES


def metric(step: int, values: dict, split: str = "train") -> dict:
    return {"kind": "metric", "step": step, "split": split, "values": values}


def history(series: dict[str, list[float]], split: str = "train", **kw) -> History:
    h = History(**kw)
    n = max(len(v) for v in series.values())
    for i in range(n):
        h.add(metric(i + 1, {k: v[i] for k, v in series.items() if i < len(v)}, split))
    return h


def rules_firing(h: History, cfg: AlertsSection | None = None) -> set[str]:
    return {a.rule for a in evaluate(h, cfg)}


def noisy(start: float, slope: float, n: int, noise: float, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    return [start + slope * i + rng.uniform(-noise, noise) for i in range(n)]


def test_helpers() -> None:
    assert kendall_tau([1, 2, 3, 4]) == 1.0 and kendall_tau([4, 3, 2, 1]) == -1.0
    assert abs(kendall_tau([1, 3, 2, 4, 3, 5])) < 1
    assert robust_z(10, [1, 1.1, 0.9, 1, 1.05]) > 50
    assert abs(robust_z(1.0, [1, 1.1, 0.9, 1, 1.05])) < 1
    assert math.isnan(as_float("nan")) and as_float("inf") == math.inf and as_float("x") is None
    assert as_float(True) is None and as_float(3) == 3.0


def test_alerts_section_is_optional_closed_and_described() -> None:
    recipe = Recipe.model_validate({"data": {"train": "x.jsonl"}, "method": {"name": "dpo"}})
    assert recipe.alerts.stop_on_error is False and recipe.alerts.window == 8
    with pytest.raises(ValidationError):
        Recipe.model_validate({"data": {"train": "x"}, "method": {"name": "dpo"}, "alerts": {"windw": 3}})
    with pytest.raises(ValidationError):
        AlertsSection(window=1)
    assert all(f.description for f in AlertsSection.model_fields.values())


def test_nan_loss_as_string_fires_error() -> None:
    h = history({"loss": [0.69, 0.68, "nan"]})
    alerts = evaluate(h)
    assert [(a.rule, a.severity) for a in alerts] == [("loss_nonfinite", "error")]
    assert alerts[0].evidence["values"][-1] == "nan" and alerts[0].step == 3
    # one non-finite gradient norm is a step the fp16 loss scaler skipped; two in a row are a broken run
    assert rules_firing(history({"loss": [0.69, 0.68, 0.67], "grad_norm": [1, 2, "inf"]})) == set()
    assert rules_firing(history({"loss": [0.69, 0.68, 0.67], "grad_norm": [1, "inf", "nan"]})) == {"loss_nonfinite"}


def test_nan_rewards_behind_a_zero_loss_are_nonfinite() -> None:
    # TRL logs a loss of exactly 0.0 when the rewards and log-probs are NaN: the loss alone looks fine
    h = history({"loss": [0.0] * 4, "rewards/accuracies": [0.0] * 4, "rewards/margins": ["nan"] * 4,
                 "logps/rejected": ["nan"] * 4, "logits/chosen": ["nan"] * 4})
    (alert,) = evaluate(h)
    assert alert.rule == "loss_nonfinite" and alert.severity == "error"
    assert "exactly 0" in alert.message and "rewards/margins" in alert.message and "logits/chosen" in alert.message
    mon = Monitor()  # live, it fires at the second NaN point
    assert [a.step for a in mon.feed(metric(i, {"loss": 0.0, "rewards/margins": "nan"}) for i in (1, 2, 3))] == [2]


def test_grad_norm_spike_needs_a_window_and_a_big_jump() -> None:
    base = noisy(2.0, 0, 10, 0.3)
    assert "grad_norm_spike" in rules_firing(history({"grad_norm": base + [40.0]}))
    assert "grad_norm_spike" not in rules_firing(history({"grad_norm": base + [3.0]}))
    assert "grad_norm_spike" not in rules_firing(history({"grad_norm": [2.0, 40.0]}))  # no baseline yet


def test_loss_flat_but_not_for_grpo() -> None:
    flat = [0.6931471] * 10
    assert "loss_flat" in rules_firing(history({"loss": flat}))
    assert "loss_flat" not in rules_firing(history({"loss": noisy(0.69, -0.01, 10, 0.02)}))
    assert "loss_flat" not in rules_firing(history({"loss": [0.0] * 10}, method="grpo"))
    assert "loss_flat" not in rules_firing(history({"loss": [0.0] * 10, "reward_std": [0.3] * 10}))  # foreign GRPO


def test_accuracy_overfit_on_a_short_run_and_a_smoothed_accuracy() -> None:
    # 20 steps: 10% is two steps, before the policy moved; early means at least the first 2 × 3 logged points
    demo = [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    early = history({"rewards/accuracies": demo[:5]}, max_steps=20)
    alerts = [a for a in evaluate(early) if a.rule == "accuracy_overfit"]
    assert alerts and alerts[0].evidence["mean"] == 1.0
    assert "accuracy_overfit" not in rules_firing(history({"rewards/accuracies": demo}, max_steps=20))  # judged once
    mon = Monitor(max_steps=20)
    assert [(a.rule, a.step) for a in mon.feed([metric(i, {"rewards/accuracies": v}) for i, v in enumerate(demo, 1)])] \
        == [("accuracy_overfit", 5)]
    # a 2-epoch run logged every 10 steps: 0.89, 1.0, 1.0 averages above 0.95 (a single point never had to)
    assert "accuracy_overfit" in rules_firing(history({"rewards/accuracies": [0.0, 0.889, 1.0, 1.0]}, max_steps=3))
    # noisy tiny batches that mostly fail to separate stay quiet
    assert "accuracy_overfit" not in rules_firing(history({"rewards/accuracies": [0.5, 1.0, 0.5, 1.0, 0.5, 1.0]},
                                                          max_steps=20))


def test_accuracy_overfit_only_early_and_sustained() -> None:
    acc = [0.5, 1.0, 1.0, 1.0, 1.0] + [1.0] * 3
    assert "accuracy_overfit" in rules_firing(history({"rewards/accuracies": acc[:5]}, max_steps=50))
    # the same values late in training (past the first 10%) are fine
    late = history({"rewards/accuracies": [0.5] * 30 + [1.0] * 5}, max_steps=50)
    assert "accuracy_overfit" not in rules_firing(late)
    # one lucky batch of 2 is not overfitting
    assert "accuracy_overfit" not in rules_firing(history({"rewards/accuracies": [0.5, 1.0, 0.5, 0.5, 1.0]},
                                                          max_steps=50))
    assert "accuracy_overfit" not in rules_firing(history({"rewards/accuracies": acc}))  # unknown length: no verdict


def test_rejected_collapse_needs_level_and_drop() -> None:
    n = 10
    collapsing = {"logps/rejected": noisy(-150, -30, n, 20), "rewards/rejected": [-3.0 * i for i in range(n)]}
    assert "rejected_logps_collapse" in rules_firing(history(collapsing, beta=0.1))
    # long responses start below -200: low level but no drop from the reference is not a collapse
    long = {"logps/rejected": noisy(-320, 0, n, 80), "rewards/rejected": noisy(0, -0.02, n, 0.2)}
    assert "rejected_logps_collapse" not in rules_firing(history(long, beta=0.1))
    # the floor scales with sequence length when the batch is known: ~1000 tokens/seq moves it to about -1560, so a
    # fall from -600 to -870 (well under twice where it started) is no collapse there
    tokens = {"logps/rejected": noisy(-600, -30, n, 20), "rewards/rejected": [-3.0 * i for i in range(n)],
              "num_tokens": [4000.0 * (i + 1) for i in range(n)]}
    assert "rejected_logps_collapse" not in rules_firing(history(tokens, beta=0.1, sequences_per_step=4))
    # ...but twice (and more) where it started, far below the reference, is: the floor is not the only yardstick
    doubled = {**tokens, "logps/rejected": noisy(-150, -30, n, 20)}
    assert "rejected_logps_collapse" in rules_firing(history(doubled, beta=0.1, sequences_per_step=4))


def test_a_short_log_is_judged_on_the_shift_from_the_reference() -> None:
    # four logged points (a 30-step run logged every 10): too few for a window, enough when rewards/* say how far
    # the rejected answers moved from the reference
    short = {"logps/rejected": [-433.0, -632.0, -1541.0, -1784.0], "rewards/rejected": [0.0, -26.5, -119.5, -141.8]}
    assert "rejected_logps_collapse" in rules_firing(history(short, beta=0.1))
    assert "rejected_logps_collapse" not in rules_firing(history({"logps/rejected": short["logps/rejected"]}))


def test_chosen_falling_and_both_falling() -> None:
    n = 10
    falling = {"rewards/chosen": noisy(0, -0.5, n, 0.1), "rewards/rejected": noisy(0, -0.8, n, 0.1)}
    assert {"chosen_rewards_falling", "logps_both_falling"} <= rules_firing(history(falling, beta=0.1))
    healthy = {"rewards/chosen": noisy(0, 0.05, n, 0.2), "rewards/rejected": noisy(0, -0.1, n, 0.2)}
    assert not {"chosen_rewards_falling", "logps_both_falling"} & rules_firing(history(healthy, beta=0.1))
    # a dip of a few noisy points is not a trend
    dip = {"rewards/chosen": [0, 0.1, 0.2, -0.9, 0.3, 0.2, 0.4, 0.3, 0.5, 0.4]}
    assert "chosen_rewards_falling" not in rules_firing(history(dip))


def test_margins_not_growing() -> None:
    assert "margins_not_growing" in rules_firing(history({"rewards/margins": noisy(0.01, 0, 16, 0.01)}))
    assert "margins_not_growing" not in rules_firing(history({"rewards/margins": noisy(0, 0.05, 16, 0.05)}))
    assert "margins_not_growing" not in rules_firing(history({"rewards/margins": noisy(2.0, 0, 16, 0.3)}))  # plateau


def test_eval_margin_divergence() -> None:
    h = history({"rewards/margins": noisy(0.5, 0.3, 10, 0.1)})
    h.add(metric(10, {"rewards/margins": 0.2}, "eval"))
    assert "eval_margin_divergence" in rules_firing(h)
    h2 = history({"rewards/margins": noisy(0.5, 0.3, 10, 0.1)})
    h2.add(metric(10, {"rewards/margins": 2.9}, "eval"))
    assert "eval_margin_divergence" not in rules_firing(h2)


def test_rl_rules() -> None:
    n = 10
    hack = {"objective/kl": [2.0 * 1.15 ** i for i in range(2 * n)], "objective/scores": noisy(0, 0.5, 2 * n, 0.1)}
    assert {"reward_hacking", "kl_too_high"} <= rules_firing(history(hack, method="ppo"))
    calm = {"objective/kl": noisy(3, 0.1, n, 0.5), "objective/scores": noisy(0, 0.2, n, 0.1)}
    assert not rules_firing(history(calm, method="ppo"))
    assert "kl_negative" in rules_firing(history({"objective/kl": noisy(-0.5, 0, n, 0.1)}, method="ppo"))
    value = {"loss/value_avg": [0.1 * 1.5 ** i for i in range(n)]}
    assert "value_loss_diverging" in rules_firing(history(value, method="ppo"))
    assert "value_loss_diverging" not in rules_firing(history({"loss/value_avg": noisy(0.3, -0.01, n, 0.05)}))
    assert "response_length_collapse" in rules_firing(history({"completions/mean_length": [0.0] * n}))
    assert "response_length_pinned" in rules_firing(history({"completions/clipped_ratio": [0.95] * n}))
    assert not rules_firing(history({"completions/mean_length": noisy(80, 1, n, 5),
                                     "completions/clipped_ratio": noisy(0.1, 0, n, 0.05)}, method="grpo"))
    # cut from the first step: the cap is too short for this model; cut only later: the policy learned to ramble
    pinned = history({"completions/clipped_ratio": [1.0] * n})
    (start,) = [a for a in evaluate(pinned) if a.rule == "response_length_pinned"]
    later = history({"completions/clipped_ratio": [0.1] * n + [0.95] * n})
    (ramble,) = [a for a in evaluate(later) if a.rule == "response_length_pinned"]
    assert start.evidence["from_start"] and "shorter than the answers this model writes" in start.message
    assert not ramble.evidence["from_start"] and "rambles" in ramble.message
    # older TRL named the mean length `completion_length`
    assert "response_length_collapse" in rules_firing(history({"completion_length": [0.0] * n}, method="grpo"))


def test_kl_far_from_zero_at_the_start() -> None:
    start = {"kl": [1.1, 0.82, 1.13, 1.1, 0.83, 0.9]}
    assert "kl_at_start" in rules_firing(history(start, method="grpo"))
    assert "kl_at_start" not in rules_firing(history({"kl": [0.0, 0.001, 0.002, 0.004, 0.01]}, method="grpo"))
    # a history that begins mid-training (a resumed attempt) says nothing about the start
    resumed = History(method="grpo")
    for i, v in enumerate(start["kl"]):
        resumed.add(metric(500 + i, {"kl": v}))
    assert "kl_at_start" not in rules_firing(resumed)


def test_groups_without_reward_variance() -> None:
    n = 10
    sparse = {"frac_reward_zero_std": [1.0, 0.75] * (n // 2), "reward": [0.0] * n}
    assert "reward_zero_variance" in rules_firing(history(sparse, method="grpo"))
    assert "reward_zero_variance" not in rules_firing(history({"frac_reward_zero_std": [0.6, 0.7] * (n // 2)},
                                                              method="grpo"))
    old = {"reward_std": [0.0] * n, "reward": [0.0] * n}  # older TRL: no fraction, a spread of 0
    assert "reward_zero_variance" in rules_firing(history(old, method="grpo"))


def test_a_reward_function_without_variance_is_named() -> None:
    n = 10
    live, dead = noisy(0.5, 0, n, 0.2), [0.0] * n
    two = {"rewards/exact_match/mean": live, "rewards/exact_match/std": [0.4] * n,
           "rewards/number_format/mean": [1.0] * n, "rewards/number_format/std": dead, "reward": live}
    alerts = [a for a in evaluate(history(two, method="grpo")) if a.rule == "reward_func_zero_variance"]
    assert len(alerts) == 1 and "number_format (always 1)" in alerts[0].message
    assert "exact_match" not in alerts[0].message and set(alerts[0].evidence) == {"number_format"}
    # one step with a spread inside the window: the function still teaches something
    revived = {**two, "rewards/number_format/std": dead[:-3] + [0.1] + dead[-2:]}
    assert "reward_func_zero_variance" not in rules_firing(history(revived, method="grpo"))
    # a single reward: reward_zero_variance already covers it
    single = {"rewards/number_format/mean": [1.0] * n, "rewards/number_format/std": dead}
    assert "reward_func_zero_variance" not in rules_firing(history(single, method="grpo"))
    # DPO's rewards/chosen etc. are no reward functions
    assert "reward_func_zero_variance" not in rules_firing(history({"rewards/chosen": dead, "rewards/margins": dead},
                                                                   method="dpo"))


def test_reward_flat_only_over_a_long_stretch() -> None:
    flat, rising = noisy(0.4, 0, 40, 0.3), noisy(0.2, 0.03, 40, 0.3)
    assert "reward_flat" in rules_firing(history({"reward": flat}, method="grpo", max_steps=60))
    assert "reward_flat" not in rules_firing(history({"reward": rising}, method="grpo", max_steps=60))
    # a third of a long run is too early to call its reward flat
    assert "reward_flat" not in rules_firing(history({"reward": flat}, method="grpo", max_steps=200))


def test_bimodal_rl_grad_norms_are_not_spikes() -> None:
    # GRPO: ~0 on batches whose groups all scored alike, ~0.5 on the others; a jump back to 0.5 is normal
    bimodal = [0.003, 0.4, 0.002, 0.005, 0.5, 0.003, 0.004, 0.002, 0.45, 0.003, 0.002, 0.004, 0.003, 0.6]
    assert "grad_norm_spike" not in rules_firing(history({"grad_norm": bimodal}, method="grpo"))
    assert "grad_norm_spike" in rules_firing(history({"grad_norm": bimodal + [40.0]}, method="grpo"))


def test_monitor_fires_once_per_episode_and_rearms() -> None:
    mon = Monitor(AlertsSection(window=3))
    fired = []
    values = [0.7, 0.6, "nan", "nan", "nan", "nan", 0.5, 0.5001, 0.4, 0.45, 0.3, "nan"]
    for i, v in enumerate(values, 1):
        fired += [(a.rule, i) for a in mon.update(metric(i, {"loss": v}))]
    assert fired == [("loss_nonfinite", 3), ("loss_nonfinite", 12)]  # re-armed after 3 quiet points
    assert len(mon.alerts) == 2


def test_monitor_disabled_and_every_rule_named() -> None:
    mon = Monitor(AlertsSection(enabled=False))
    assert mon.feed([metric(1, {"loss": "nan"})]) == []
    assert {"loss_nonfinite", "accuracy_overfit", "kl_at_start", "reward_zero_variance", "reward_flat"} <= set(RULES)
    assert all(rule.__doc__ for rule in RULES.values())


def test_loss_flat_is_left_to_nonfinite_after_a_breakdown() -> None:
    h = history({"loss": [0.7, 0.5] + [0.0] * 10, "grad_norm": [1.0, 2.0] + ["nan"] * 10})
    assert rules_firing(h) == {"loss_nonfinite"}


def test_reference_free_methods_use_log_probs_not_rewards() -> None:
    n = 10
    # ORPO: rewards/* = beta × mean log-prob (always negative), so they say nothing about a shift from a reference
    series = {"rewards/chosen": [-0.2] * n, "rewards/rejected": [-0.25] * n,
              "logps/chosen": [-100.0 - 10 * i for i in range(n)],
              "logps/rejected": [-120.0 - 20 * i for i in range(n)]}
    assert "logps_both_falling" in rules_firing(history(series, method="orpo"))
    assert "logps_both_falling" not in rules_firing(history(series, method="dpo"))

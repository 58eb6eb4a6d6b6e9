"""The red-flag rules: pure functions of a run's metric history, each returning an alert or None (the rules every
method shares and the DPO family's here; PPO/GRPO/RLOO's in rl_rules.py)."""

from __future__ import annotations

import math
import statistics

from engine.recipe.methods import methods_where
from engine.recipe.schema import AlertsSection
from engine.verdict.history import (
    Alert,
    History,
    evidence,
    head_median,
    kendall_tau,
    long_stretch,
    quarter_gain,
    robust_z,
    rounded,
    span,
    tail_median,
)
from engine.verdict.rl_rules import RL_RULES, Rule

# Preference methods without a reference model: their rewards/* are not log-prob shifts from a reference.
REFERENCE_FREE = methods_where(data="pairs", reference=False, task="causal")
DEFAULT_BETA = 0.1  # TRL's DPOConfig.beta default, assumed for runs from other tools that do not say


# ---------- rules for every method ----------

def loss_nonfinite(h: History, cfg: AlertsSection) -> Alert | None:
    """NaN or infinite values: the loss at its latest point, or any other metric (rewards, log-probs, logits, grad
    norm) at its two latest points. One non-finite gradient norm is a step the fp16 loss scaler skipped, not a broken
    run; TRL logs a loss of exactly 0.0 when its rewards and log-probs are NaN, so those are watched too."""
    broken: list[tuple[str, str, list[tuple[int, float]]]] = []
    for split in ("train", "eval"):
        for metric, pts in h.series.get(split, {}).items():
            needed = 1 if metric == "loss" else 2
            if len(pts) >= needed and not any(math.isfinite(v) for _, v in pts[-needed:]):
                broken.append((split, metric, pts))
    if not broken:
        return None
    split, metric, pts = next((b for b in broken if b[1] == "loss"), broken[0])
    names = ", ".join(sorted({f"{sp} {m}" if sp != "train" else m for sp, m, _ in broken}))
    loss = h.points("loss", split, finite=False)
    zero_loss = " while the loss reads exactly 0 (TRL's value when its numbers are NaN)" if loss and \
        loss[-1][1] == 0.0 and metric != "loss" else ""
    return Alert("loss_nonfinite", "error", pts[-1][0],
                 f"Non-finite values at step {pts[-1][0]}: {names}{zero_loss}. The numbers have overflowed and "
                 "training cannot recover. Likely cause: a learning rate far too high, fp16 overflow, a dtype the "
                 "model cannot run in (e.g. fp16 weights of a bf16-trained model), or a bad row (an empty "
                 "response). Try a 10× lower learning rate, bf16 or fp32 instead of fp16, a smaller max_grad_norm, "
                 "and resume from the last good checkpoint.",
                 evidence(metric, pts[-cfg.window:], split, nonfinite_metrics=names))


def grad_norm_spike(h: History, cfg: AlertsSection) -> Alert | None:
    """The latest gradient norm is far above the recent ones (robust z-score over the window), and far above the
    largest of the last few windows (RL's bimodal grad norms jump between ~0 and normal all the time)."""
    pts = h.points("grad_norm")
    if len(pts) < cfg.window + 1:
        return None
    window, (step, value) = pts[-cfg.window - 1:-1], pts[-1]
    base = [v for _, v in window]
    z, med = robust_z(value, base), statistics.median(base)
    recent_max = max(v for _, v in pts[-4 * cfg.window - 1:-1])
    # ...and above the run's own starting scale: after a saturated loss drives gradients to ~0, a jump that stays far
    # below where they began is no explosion.
    start = statistics.median(v for _, v in pts[:cfg.window])
    if z < cfg.grad_spike_z or value < cfg.grad_spike_ratio * med or value < cfg.grad_spike_history_ratio * recent_max \
            or value < cfg.grad_spike_ratio * start:
        return None
    versus = f"{value / med:.1f}× the recent median ({med:.3g}; robust z {z:.3g})" if med > 1e-6 else \
        "after gradients of ~0 (a saturated loss: the margins are so large the loss gives no signal)"
    return Alert("grad_norm_spike", "warning", step,
                 f"Gradient norm jumped to {value:.3g} at step {step}, {versus}, and {value / recent_max:.1f}× the "
                 f"largest of the last {min(len(pts) - 1, 4 * cfg.window)} points. One spike is often a bad batch; "
                 "repeated spikes precede divergence. Try a lower learning rate or more warm-up, and check the rows "
                 "of that batch.",
                 evidence("grad_norm", pts[-cfg.window - 1:], robust_z=z, median=med, recent_max=recent_max))


def loss_flat(h: History, cfg: AlertsSection) -> Alert | None:
    """The training loss is not going down: frozen (it does not move at all over a window), or, over a long stretch,
    its last quarter no lower than its first despite the noise (not for GRPO/RLOO/PPO, whose loss is ~0 by design)."""
    if h.rl_like:
        return None
    pts = h.points("loss")
    if len(pts) < cfg.window:
        return None
    window = pts[-cfg.window:]
    start = window[0][0]
    if any(not math.isfinite(v) for m in ("loss", "grad_norm") for s, v in h.points(m, finite=False) if s >= start):
        return None  # numbers broke down (TRL then logs loss 0.0 with NaN gradients): loss_nonfinite owns that
    values = [v for _, v in window]
    spread = max(values) - min(values)
    scale = max(abs(statistics.fmean(values)), 1e-8)
    if abs(statistics.fmean(values)) < 1e-6:
        return None  # a loss of 0 is saturated (nothing left to learn from these pairs): accuracy_overfit's matter
    lr = h.points("learning_rate")
    lr_note = f" (latest {lr[-1][1]:.2g})" if lr else ""
    causes = (f"Likely cause: a learning rate too low{lr_note}, frozen weights (no trainable parameters, or an "
              "adapter that is not attached), or labels that are all masked. Try a 10× higher learning rate and check "
              "that the trainable parameter count is not zero.")
    if spread <= cfg.loss_flat_tolerance * scale:
        return Alert("loss_flat", "warning", window[-1][0],
                     f"The loss has stayed at {values[-1]:.6g} for {len(values)} logged steps (relative spread "
                     f"{spread / scale:.1e}): the model is not learning. {causes}",
                     evidence("loss", window, relative_spread=spread / scale))
    if not long_stretch(h, len(pts), cfg):
        return None
    first, last, gain = quarter_gain([v for _, v in pts])
    if -gain >= cfg.flat_gain:
        return None
    return Alert("loss_flat", "warning", window[-1][0],
                 f"The loss is not going down: its mean over the last quarter of {len(pts)} logged steps is "
                 f"{last:.4g} against {first:.4g} over the first ({-gain:+.2f} standard deviations lower), so the "
                 f"noise of single steps hides a plateau: the model is not learning. {causes}",
                 evidence("loss", window, first_quarter_mean=first, last_quarter_mean=last, drop_sd=-gain))


# ---------- DPO family ----------

def early_points(h: History, cfg: AlertsSection) -> int | None:
    """How many logged points count as early in training: `overfit_fraction` of the planned points, and at least
    2 × `overfit_points` (in a short run the first 10% is a step or two, before the policy has moved)."""
    planned = h.planned_points()
    if planned is None:
        return None
    return max(math.ceil(cfg.overfit_fraction * planned), 2 * cfg.overfit_points)


def accuracy_overfit(h: History, cfg: AlertsSection) -> Alert | None:
    """Preference accuracy, averaged over a few logged points, saturated within the early part of training."""
    pts = h.points("rewards/accuracies")
    early = early_points(h, cfg)
    if early is None or len(pts) < cfg.overfit_points or len(pts) > early:
        return None  # judged while training is early, once (an accuracy of 1.0 late in a long run is no news)
    last = pts[-cfg.overfit_points:]
    mean = statistics.fmean(v for _, v in last)
    if mean < cfg.overfit_accuracy:
        return None
    return Alert("accuracy_overfit", "warning", last[-1][0],
                 f"Preference accuracy averages {mean:.0%} over logged steps {last[0][0]}–{last[-1][0]}, already early "
                 f"in training (the first {early} of ~{h.planned_points():.0f} logged points of {h.max_steps} steps): "
                 "the policy separates chosen from rejected almost perfectly this early, which usually means "
                 "memorising the pairs (or pairs that are trivially easy, e.g. the rejected responses are truncated "
                 "or differ in formatting), and a train accuracy near 1.0 says nothing about held-out prompts. Try a "
                 "lower learning rate, a larger beta, fewer epochs or more pairs, and judge the run by its held-out "
                 "win rate and pair accuracy.",
                 evidence("rewards/accuracies", pts[-cfg.window:], mean=mean, early_points=early,
                          max_steps=h.max_steps))


def shift_nats(h: History, which: str) -> list[tuple[int, float]]:
    """How far `logps/<which>` moved from the reference model, in nats: `rewards/<which>` ÷ beta. Unlike the raw
    log-probs this does not jump with the lengths of each batch's responses (TRL's default beta when unknown)."""
    if (h.method or "") in REFERENCE_FREE:  # their rewards/* are beta × policy log-probs, not a shift from a reference
        pts = h.points(f"logps/{which}")
        start = statistics.median(v for _, v in pts[:3]) if pts else 0.0
        return [(s, v - start) for s, v in pts]
    beta = h.beta or DEFAULT_BETA
    return [(s, v / beta) for s, v in h.points(f"rewards/{which}")]


def rejected_logps_collapse(h: History, cfg: AlertsSection) -> Alert | None:
    """`logps/rejected` below a (length-scaled) floor, or several times where it started, having fallen far below the
    reference's log-probs."""
    pts = h.points("logps/rejected")
    shift = shift_nats(h, "rejected")
    # The shift from the reference (rewards/rejected ÷ β) does not jump with each batch's response lengths, so with
    # it a short log (a few points) can be judged; raw log-probs (all a reference-free method has) need a window.
    with_reference = len(shift) >= 3 and (h.method or "") not in REFERENCE_FREE
    if len(pts) < (3 if with_reference else cfg.window):
        return None
    k = max(1, min(span(cfg), len(pts) // 3))
    values = [v for _, v in pts]
    tokens = h.tokens_per_sequence()
    floor = cfg.rejected_logps_floor * max(1.0, tokens / cfg.rejected_logps_floor_tokens) if tokens else \
        cfg.rejected_logps_floor
    level, start = tail_median(values, k), head_median(values, k)
    drop = -tail_median([v for _, v in shift], k) if len(shift) >= k else start - level
    multiplied = start < 0 and level <= cfg.rejected_logps_collapse_ratio * start
    if (level >= floor and not multiplied) or drop < cfg.rejected_logps_min_drop:
        return None
    how = f"floor {floor:.0f}" + (f" for ~{tokens:.0f} tokens per sequence" if tokens else "") if level < floor \
        else f"{level / start:.1f}× its starting {start:.1f}"
    return Alert("rejected_logps_collapse", "warning", pts[-1][0],
                 f"Log-probability of the rejected responses has collapsed to {level:.1f} (median of the last {k} "
                 f"points; {how}), {drop:.0f} nats below the reference model. The policy is pushing the rejected "
                 "text to near-zero probability, which drags general fluency with it and makes the reward signal "
                 "meaningless. Try a lower learning rate, a larger beta, or a loss that bounds the margin (ipo, or "
                 "robust with label_smoothing).",
                 evidence("logps/rejected", pts[-cfg.window:], floor=floor, start=start, drop_nats=drop,
                          tokens_per_sequence=tokens))


def chosen_rewards_falling(h: History, cfg: AlertsSection) -> Alert | None:
    """`rewards/chosen` trending down over the window and clearly below where it started (not for reference-free
    methods: their rewards/* are β × the policy's own log-probs, whose fall logps_both_falling judges)."""
    if (h.method or "") in REFERENCE_FREE:
        return None
    pts = h.points("rewards/chosen")
    if len(pts) < cfg.window:
        return None
    window = pts[-cfg.window:]
    values = [v for _, v in window]
    k = span(cfg)
    tau, start, now = kendall_tau(values), head_median([v for _, v in pts], k), tail_median(values, k)
    if tau > -cfg.trend_tau or start - now < cfg.chosen_reward_drop:
        return None
    return Alert("chosen_rewards_falling", "warning", window[-1][0],
                 f"The implicit reward of the chosen responses keeps falling (Kendall tau {tau:.2f} over the last "
                 f"{len(values)} points, from about {start:.2f} to {now:.2f}): the policy is making the preferred "
                 "answers less likely than the reference does. Likely cause: a learning rate too high, or a "
                 "formatting mismatch between the data and the chat template. Try a lower learning rate and "
                 "check a formatted example (`reins validate`).",
                 evidence("rewards/chosen", window, kendall_tau=tau, start=start))


def margins_not_growing(h: History, cfg: AlertsSection) -> Alert | None:
    """Two windows in, the reward margin is still small, did not grow from one window to the next, and has not grown
    since the start either (noisy per-step margins dip and plateau while they grow)."""
    pts = h.points("rewards/margins")
    if len(pts) < 2 * cfg.window:
        return None
    before = [v for _, v in pts[-2 * cfg.window:-cfg.window]]
    after = [v for _, v in pts[-cfg.window:]]
    growth, now = statistics.fmean(after) - statistics.fmean(before), statistics.fmean(after)
    first, last, _ = quarter_gain([v for _, v in pts])
    if growth >= cfg.margin_min_growth or now >= cfg.margin_learned or last - first >= cfg.margin_min_growth:
        return None
    return Alert("margins_not_growing", "warning", pts[-1][0],
                 f"The reward margin is not growing: mean {now:.3f} over the last {cfg.window} points against "
                 f"{statistics.fmean(before):.3f} over the {cfg.window} before (growth {growth:+.3f}), and "
                 f"{last:.3f} over the last quarter of the run so far against {first:.3f} over its first. The policy "
                 "is not learning the preference signal. Likely cause: a learning rate too low, a beta too large, "
                 "chosen and rejected responses that barely differ, or an adapter that is not training. Try a "
                 "higher learning rate or a smaller beta, and look at a few pairs.",
                 evidence("rewards/margins", pts[-2 * cfg.window:], growth=growth, first_quarter_mean=first,
                          last_quarter_mean=last))


def logps_both_falling(h: History, cfg: AlertsSection) -> Alert | None:
    """Chosen and rejected log-probs both trend down (relative to the reference), chosen by a clear amount."""
    chosen, rejected = shift_nats(h, "chosen"), shift_nats(h, "rejected")
    if len(chosen) < cfg.window or len(rejected) < cfg.window:
        return None
    c, r = [v for _, v in chosen[-cfg.window:]], [v for _, v in rejected[-cfg.window:]]
    tc, tr = kendall_tau(c), kendall_tau(r)
    drop = -tail_median(c, span(cfg))
    if tc > -cfg.trend_tau or tr > -cfg.trend_tau or drop < cfg.both_falling_min_drop:
        return None
    return Alert("logps_both_falling", "warning", chosen[-1][0],
                 f"Log-probs of both the chosen and the rejected responses are falling (Kendall tau {tc:.2f} and "
                 f"{tr:.2f}; chosen now {drop:.1f} nats below the reference model). DPO widens the margin by "
                 "pushing everything down, so the policy gets less likely to produce even the preferred answers. "
                 "Try a lower learning rate, or a loss that anchors the chosen likelihood (apo_zero, sppo_hard).",
                 {"chosen": evidence("logps/chosen - ref (nats)", chosen[-cfg.window:], kendall_tau=tc),
                  "rejected": evidence("logps/rejected - ref (nats)", rejected[-cfg.window:], kendall_tau=tr),
                  "beta": h.beta or DEFAULT_BETA})


def eval_margin_divergence(h: History, cfg: AlertsSection) -> Alert | None:
    """The eval reward margin falls far behind the train margin at the same point of training."""
    evals, train = h.points("rewards/margins", "eval"), h.points("rewards/margins")
    if not evals or len(train) < cfg.window:
        return None
    step, ev = evals[-1]
    recent = [v for s, v in train if s <= step][-cfg.window:]
    if len(recent) < cfg.window:
        return None
    tr = statistics.fmean(recent)
    gap = tr - ev
    if gap < cfg.eval_gap or gap < cfg.eval_gap_ratio * abs(tr):
        return None
    return Alert("eval_margin_divergence", "warning", step,
                 f"At step {step} the eval reward margin is {ev:.3f} while the train margin averages {tr:.3f} over "
                 f"the last {len(recent)} points (gap {gap:.3f}): what the policy learns on the training pairs does "
                 "not carry over to held-out pairs. Likely cause: overfitting (too many epochs, too high a learning "
                 "rate) or eval data from a different distribution. Try fewer steps, a lower learning rate, or more "
                 "varied training pairs.",
                 {"train": evidence("rewards/margins", [p for p in train if p[0] <= step][-cfg.window:]),
                  "eval": evidence("rewards/margins", evals, "eval"), "gap": rounded(gap)})


RULES: dict[str, Rule] = {
    "loss_nonfinite": loss_nonfinite,
    "grad_norm_spike": grad_norm_spike,
    "loss_flat": loss_flat,
    "accuracy_overfit": accuracy_overfit,
    "rejected_logps_collapse": rejected_logps_collapse,
    "chosen_rewards_falling": chosen_rewards_falling,
    "margins_not_growing": margins_not_growing,
    "logps_both_falling": logps_both_falling,
    "eval_margin_divergence": eval_margin_divergence,
    **RL_RULES,
}



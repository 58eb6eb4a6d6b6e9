"""The red-flag rules: pure functions of a run's metric history, each returning an alert or None."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

from engine.recipe.methods import methods_where
from engine.recipe.schema import AlertsSection
from engine.verdict.history import (
    Alert,
    History,
    evidence,
    head_median,
    kendall_tau,
    robust_z,
    rounded,
    span,
    tail_median,
)

KL_KEYS = ("objective/kl", "kl")
SCORE_KEYS = ("objective/scores", "reward", "objective/rlhf_reward")
# Preference methods without a reference model: their rewards/* are not log-prob shifts from a reference.
REFERENCE_FREE = methods_where(data="pairs", reference=False, task="causal")
DEFAULT_BETA = 0.1  # TRL's DPOConfig.beta default, assumed for runs from other tools that do not say


Rule = Callable[[History, AlertsSection], "Alert | None"]


# ---------- rules for every method ----------

def loss_nonfinite(h: History, cfg: AlertsSection) -> Alert | None:
    """Loss or gradient norm is NaN or infinite: training has numerically broken down."""
    for split in ("train", "eval"):
        for metric in ("loss", "grad_norm"):
            pts = h.points(metric, split, finite=False)
            if pts and not math.isfinite(pts[-1][1]):
                bad = pts[-cfg.window:]
                return Alert("loss_nonfinite", "error", pts[-1][0],
                             f"{split} {metric} is {pts[-1][1]} at step {pts[-1][0]}: the numbers have overflowed "
                             "and training cannot recover. Likely cause: a learning rate far too high, fp16 "
                             "overflow, or a bad row (empty response). Try a 10× lower learning rate, bf16 or fp32 "
                             "instead of fp16, a smaller max_grad_norm, and resume from the last good checkpoint.",
                             evidence(metric, bad, split))
    return None


def grad_norm_spike(h: History, cfg: AlertsSection) -> Alert | None:
    """The latest gradient norm is far above the recent ones (robust z-score over the window)."""
    pts = h.points("grad_norm")
    if len(pts) < cfg.window + 1:
        return None
    window, (step, value) = pts[-cfg.window - 1:-1], pts[-1]
    base = [v for _, v in window]
    z, med = robust_z(value, base), statistics.median(base)
    if z < cfg.grad_spike_z or value < cfg.grad_spike_ratio * med:
        return None
    versus = f"{value / med:.1f}× the recent median ({med:.3g}; robust z {z:.3g})" if med > 1e-6 else \
        "after gradients of ~0 (a saturated loss: the margins are so large the loss gives no signal)"
    return Alert("grad_norm_spike", "warning", step,
                 f"Gradient norm jumped to {value:.3g} at step {step}, {versus}. One spike is often a bad batch; "
                 "repeated spikes precede divergence. Try a lower learning rate or more warm-up, and check the rows "
                 "of that batch.",
                 evidence("grad_norm", pts[-cfg.window - 1:], robust_z=z, median=med))


def loss_flat(h: History, cfg: AlertsSection) -> Alert | None:
    """The training loss has not moved at all over a window (not for GRPO/RLOO/PPO, whose loss is ~0 by design)."""
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
    if spread > cfg.loss_flat_tolerance * scale:
        return None
    lr = h.points("learning_rate")
    lr_note = f" (latest {lr[-1][1]:.2g})" if lr else ""
    return Alert("loss_flat", "warning", window[-1][0],
                 f"The loss has stayed at {values[-1]:.6g} for {len(values)} logged steps (relative spread "
                 f"{spread / scale:.1e}): the model is not learning. Likely cause: a learning rate too low{lr_note}, "
                 "frozen weights (no trainable parameters), or labels that are all masked. Try a 10× higher learning "
                 "rate and check that the trainable parameter count is not zero.",
                 evidence("loss", window, relative_spread=spread / scale))


# ---------- DPO family ----------

def accuracy_overfit(h: History, cfg: AlertsSection) -> Alert | None:
    """Preference accuracy above the threshold for several points within the first part of training."""
    pts = h.points("rewards/accuracies")
    if not h.max_steps or len(pts) < cfg.overfit_points:
        return None
    limit = cfg.overfit_fraction * h.max_steps
    early = [p for p in pts if p[0] <= limit]
    if len(early) < cfg.overfit_points:
        return None
    last = early[-cfg.overfit_points:]
    if not all(v > cfg.overfit_accuracy for _, v in last) or pts[-1][0] > limit + cfg.window:
        return None  # also stay quiet once training is well past the early phase (judged once, when it happens)
    return Alert("accuracy_overfit", "warning", last[-1][0],
                 f"Preference accuracy is above {cfg.overfit_accuracy:.0%} on {len(last)} logged steps already by "
                 f"step {last[-1][0]} of {h.max_steps}: the policy separates chosen from rejected almost "
                 "perfectly this early, which usually means memorising the pairs (or pairs that are trivially "
                 "easy, e.g. the rejected responses are truncated or differ in formatting). Try a lower learning "
                 "rate, a larger beta, fewer epochs, and watch the eval accuracy and margins.",
                 evidence("rewards/accuracies", last, max_steps=h.max_steps, early_limit_step=limit))


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
    """`logps/rejected` below a (length-scaled) floor, having fallen far below the reference's log-probs."""
    pts = h.points("logps/rejected")
    if len(pts) < cfg.window:
        return None
    k = span(cfg)
    tokens = h.tokens_per_sequence()
    floor = cfg.rejected_logps_floor * max(1.0, tokens / cfg.rejected_logps_floor_tokens) if tokens else \
        cfg.rejected_logps_floor
    level = tail_median([v for _, v in pts], k)
    shift = shift_nats(h, "rejected")
    drop = -tail_median([v for _, v in shift], k) if len(shift) >= k else \
        head_median([v for _, v in pts], k) - level
    if level >= floor or drop < cfg.rejected_logps_min_drop:
        return None
    return Alert("rejected_logps_collapse", "warning", pts[-1][0],
                 f"Log-probability of the rejected responses has collapsed to {level:.1f} (median of the last {k} "
                 f"points; floor {floor:.0f}" + (f" for ~{tokens:.0f} tokens per sequence" if tokens else "")
                 + f"), {drop:.0f} nats below the reference model. The policy is pushing the rejected text to "
                 "near-zero probability, which drags general fluency with it and makes the reward signal "
                 "meaningless. Try a lower learning rate, a larger beta, or a loss that bounds the margin (ipo, or "
                 "robust with label_smoothing).",
                 evidence("logps/rejected", pts[-cfg.window:], floor=floor, drop_nats=drop,
                          tokens_per_sequence=tokens))


def chosen_rewards_falling(h: History, cfg: AlertsSection) -> Alert | None:
    """`rewards/chosen` trending down over the window and clearly below where it started."""
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
    """Two windows in, the reward margin is still small and did not grow from one window to the next."""
    pts = h.points("rewards/margins")
    if len(pts) < 2 * cfg.window:
        return None
    before = [v for _, v in pts[-2 * cfg.window:-cfg.window]]
    after = [v for _, v in pts[-cfg.window:]]
    growth, now = statistics.fmean(after) - statistics.fmean(before), statistics.fmean(after)
    if growth >= cfg.margin_min_growth or now >= cfg.margin_learned:
        return None
    return Alert("margins_not_growing", "warning", pts[-1][0],
                 f"The reward margin is not growing: mean {now:.3f} over the last {cfg.window} points against "
                 f"{statistics.fmean(before):.3f} over the {cfg.window} before (growth {growth:+.3f}). The policy is "
                 "not learning the preference signal. Likely cause: a learning rate too low, a beta too large, "
                 "or chosen and rejected responses that barely differ. Try a higher learning rate or a smaller "
                 "beta, and look at a few pairs.",
                 evidence("rewards/margins", pts[-2 * cfg.window:], growth=growth))


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


# ---------- PPO / GRPO / RLOO ----------

def kl_out_of_range(h: History, cfg: AlertsSection) -> Alert | None:
    """Mean KL to the reference, over the window, above the target or clearly negative."""
    key = h.first_of(KL_KEYS)
    if key is None or not h.rl_like:
        return None
    pts = h.points(key)
    if len(pts) < cfg.window:
        return None
    window = pts[-cfg.window:]
    med = statistics.median(v for _, v in window)
    if med > cfg.kl_max:
        return Alert("kl_too_high", "warning", window[-1][0],
                     f"KL to the reference model is {med:.2f} (median of the last {len(window)} points), above the "
                     f"target {cfg.kl_max:g}: the policy has drifted far from where it started and is likely "
                     "degrading as a language model. Try a larger KL coefficient (beta / kl_coef), a lower learning "
                     "rate, or stop at an earlier checkpoint.",
                     evidence(key, window, kl_max=cfg.kl_max))
    if med < cfg.kl_min:
        return Alert("kl_negative", "warning", window[-1][0],
                     f"KL to the reference model is negative ({med:.3f}, median of the last {len(window)} points). A "
                     "true KL cannot be negative: the estimator is being gamed, usually by generation settings that "
                     "differ between policy and reference (temperature, top-k/p, padding side, EOS handling). Check "
                     "that both score the same tokens with the same settings.",
                     evidence(key, window, kl_min=cfg.kl_min))
    return None


def reward_hacking(h: History, cfg: AlertsSection) -> Alert | None:
    """Score rising while KL rises past the target: the policy found a way to please the reward model."""
    kl_key, score_key = h.first_of(KL_KEYS), h.first_of(SCORE_KEYS)
    if kl_key is None or score_key is None or not h.rl_like:
        return None
    kl, score = h.points(kl_key), h.points(score_key)
    if len(kl) < cfg.window or len(score) < cfg.window:
        return None
    k, s = [v for _, v in kl[-cfg.window:]], [v for _, v in score[-cfg.window:]]
    tk, ts = kendall_tau(k), kendall_tau(s)
    if tk < cfg.trend_tau or ts < cfg.trend_tau or tail_median(k, span(cfg)) < cfg.kl_max:
        return None
    return Alert("reward_hacking", "error", kl[-1][0],
                 f"The reward score keeps rising (Kendall tau {ts:.2f}) while KL to the reference explodes "
                 f"(tau {tk:.2f}, now {tail_median(k, span(cfg)):.1f}, target {cfg.kl_max:g}): the policy is probably "
                 "exploiting the reward model (reward hacking) rather than getting better. Read some samples; try a "
                 "larger KL coefficient, a lower learning rate, length penalties, or a stronger reward model.",
                 {"kl": evidence(kl_key, kl[-cfg.window:], kendall_tau=tk),
                  "score": evidence(score_key, score[-cfg.window:], kendall_tau=ts)})


def value_loss_diverging(h: History, cfg: AlertsSection) -> Alert | None:
    """PPO's value loss trending up to many times its starting level."""
    pts = h.points("loss/value_avg")
    if len(pts) < cfg.window:
        return None
    window = [v for _, v in pts[-cfg.window:]]
    start, now, tau = head_median([v for _, v in pts], span(cfg)), tail_median(window, span(cfg)), kendall_tau(window)
    if tau < cfg.trend_tau or now < cfg.value_loss_growth * max(start, 1e-8):
        return None
    return Alert("value_loss_diverging", "warning", pts[-1][0],
                 f"PPO's value loss is climbing (Kendall tau {tau:.2f}), now {now:.3g} against {start:.3g} at the "
                 "start: the value head cannot track the returns, so advantages become noise. Try a lower learning "
                 "rate, a smaller vf_coef or cliprange_value, or whitening/normalising rewards.",
                 evidence("loss/value_avg", pts[-cfg.window:], start=start))


def response_length(h: History, cfg: AlertsSection) -> Alert | None:
    """Generated responses collapsing to nothing, or nearly all cut off at the maximum length."""
    pts = h.points("completions/mean_length")
    if len(pts) >= cfg.window:
        window = pts[-cfg.window:]
        if max(v for _, v in window) < cfg.min_response_tokens:
            return Alert("response_length_collapse", "error", window[-1][0],
                         f"Generated responses have collapsed to {window[-1][1]:.2f} tokens on average over the last "
                         f"{len(window)} points: the policy learned that saying nothing scores best (or EOS is "
                         "rewarded). Check the reward function on empty answers; add a length floor or penalty for "
                         "empty completions.",
                         evidence("completions/mean_length", window))
    clipped = h.points("completions/clipped_ratio")
    if len(clipped) >= cfg.window:
        window = clipped[-cfg.window:]
        if min(v for _, v in window) >= cfg.max_clipped_ratio:
            return Alert("response_length_pinned", "warning", window[-1][0],
                         f"At least {cfg.max_clipped_ratio:.0%} of responses hit the maximum length on each of the "
                         f"last {len(window)} points: the policy rambles until cut off, often because longer answers "
                         "score higher. Try a length penalty, a larger max_completion_length, or a reward model less "
                         "biased to length.",
                         evidence("completions/clipped_ratio", window))
    return None


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
    "kl_out_of_range": kl_out_of_range,
    "reward_hacking": reward_hacking,
    "value_loss_diverging": value_loss_diverging,
    "response_length": response_length,
}



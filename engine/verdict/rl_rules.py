"""The red-flag rules of online RL (PPO, GRPO, RLOO): KL to the reference, the reward and its groups, generated
lengths, PPO's value head. Pure functions of a run's metric history, each returning an alert or None."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from engine.recipe.schema import AlertsSection
from engine.verdict.history import (
    Alert,
    History,
    evidence,
    head_median,
    kendall_tau,
    long_stretch,
    quarter_gain,
    span,
    tail_median,
)

Rule = Callable[[History, AlertsSection], "Alert | None"]
KL_KEYS = ("objective/kl", "kl")
SCORE_KEYS = ("objective/scores", "reward", "objective/rlhf_reward")
ZERO_STD = 1e-6  # a logged spread at or below this is no spread at all (float noise of identical scores)


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
    """Score rising while KL rises past the target, judged over the last few windows (per-step PPO figures are too
    noisy for one window's trend): the policy found a way to please the reward model."""
    kl_key, score_key = h.first_of(KL_KEYS), h.first_of(SCORE_KEYS)
    if kl_key is None or score_key is None or not h.rl_like:
        return None
    kl, score = h.points(kl_key)[-4 * cfg.window:], h.points(score_key)[-4 * cfg.window:]
    if len(kl) < 2 * cfg.window or len(score) < 2 * cfg.window:
        return None
    k, s = [v for _, v in kl], [v for _, v in score]
    tk, ts = kendall_tau(k), kendall_tau(s)
    now = tail_median(k, span(cfg))
    if tk < cfg.trend_tau / 2 or ts < cfg.trend_tau / 2 or now < cfg.kl_max:
        return None
    return Alert("reward_hacking", "error", kl[-1][0],
                 f"The reward score keeps rising (Kendall tau {ts:.2f} over the last {len(s)} points) while KL to the "
                 f"reference climbs (tau {tk:.2f}, now {now:.1f}, target {cfg.kl_max:g}): the policy is probably "
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
            # Cut from the very first steps, the cap is shorter than what this model writes; cut only later, the
            # policy learned to ramble: the same symptom with different fixes.
            from_start = min(v for _, v in clipped[:span(cfg)]) >= cfg.max_clipped_ratio
            why = ("from the first logged steps on, so the cap is shorter than the answers this model writes for "
                   "these prompts, and the reward scores cut-off text. Try a larger max_completion_length, or prompts "
                   "that ask for shorter answers") if from_start else \
                ("after earlier steps that ended on their own: the policy rambles until cut off, often because "
                 "longer answers score higher. Try a length penalty, a larger max_completion_length, or a reward "
                 "model less biased to length")
            return Alert("response_length_pinned", "warning", window[-1][0],
                         f"At least {cfg.max_clipped_ratio:.0%} of responses hit the maximum length on each of the "
                         f"last {len(window)} points, {why}.",
                         evidence("completions/clipped_ratio", window, from_start=from_start))
    return None


def kl_at_start(h: History, cfg: AlertsSection) -> Alert | None:
    """GRPO/RLOO's KL already far from 0 at the first logged steps: before any update the policy is its reference, so
    a large KL there means the reference is another model (not the checkpoint training started from)."""
    pts = h.points("kl")
    k = span(cfg)
    if not h.rl_like or len(pts) < k or pts[0][0] > cfg.window:
        return None  # judged on a history that starts at the beginning of training (not a resumed attempt)
    first = [v for _, v in pts[:k]]
    med = statistics.median(first)
    if med <= cfg.kl_start_max or len(pts) > cfg.window:
        return None  # also judged once, as the first points arrive
    return Alert("kl_at_start", "warning", pts[k - 1][0],
                 f"KL to the reference is already {med:.3g} (median of the first {k} logged points, first "
                 f"{first[0]:.3g}), where a run that starts from its own reference reads ~0 until the policy has "
                 "moved. The reference model is not the checkpoint this run started from (e.g. a base model while "
                 "training continues an SFT checkpoint), so the KL penalty pulls the policy toward the wrong model. "
                 "Try pointing the reference at the starting checkpoint (or beta 0), then restart.",
                 evidence("kl", pts[:k], kl_start_max=cfg.kl_start_max))


def reward_zero_variance(h: History, cfg: AlertsSection) -> Alert | None:
    """GRPO/RLOO groups whose completions all scored alike for a window: their advantages are 0, nothing is learned."""
    if not h.rl_like:
        return None
    frac = h.points("frac_reward_zero_std")
    if len(frac) >= cfg.window:
        window = frac[-cfg.window:]
        med = statistics.median(v for _, v in window)
        if med >= cfg.zero_std_fraction:
            return Alert("reward_zero_variance", "warning", window[-1][0],
                         f"In a median {med:.0%} of the prompts of each of the last {len(window)} logged steps, every "
                         "completion got the same reward (frac_reward_zero_std), so their advantages are 0 and the "
                         "policy gets no learning signal. The task is too hard (all fail) or too easy (all pass) for "
                         "this policy, or the reward is too sparse. Try easier prompts or a curriculum, a denser "
                         "reward (partial credit, format rewards), more generations per prompt, or a higher "
                         "temperature.",
                         evidence("frac_reward_zero_std", window, zero_std_fraction=cfg.zero_std_fraction))
        return None
    std = h.points("reward_std")  # older TRL logs no fraction: a reward spread of 0 says the same
    if len(std) >= cfg.window and max(abs(v) for _, v in std[-cfg.window:]) <= ZERO_STD:
        window = std[-cfg.window:]
        return Alert("reward_zero_variance", "warning", window[-1][0],
                     f"The reward's spread within groups (reward_std) has been 0 at each of the last {len(window)} "
                     "logged steps: every completion scores alike, so advantages are 0 and nothing is learned. Try "
                     "easier prompts, a denser reward, more generations per prompt, or a higher temperature.",
                     evidence("reward_std", window))
    return None


def reward_func_zero_variance(h: History, cfg: AlertsSection) -> Alert | None:
    """One of several GRPO/RLOO rewards (TRL's `rewards/<func>/std`) gave every completion of each batch the same
    score for a window: that reward adds nothing to the advantages. With a single reward `reward_zero_variance` says
    it already."""
    if not h.rl_like:
        return None
    stds = {key[len("rewards/"):-len("/std")]: h.points(key) for key in h.series.get("train", {})
            if key.startswith("rewards/") and key.endswith("/std") and key.count("/") >= 2}
    if len(stds) < 2:
        return None
    dead = {name: pts[-cfg.window:] for name, pts in sorted(stds.items())
            if len(pts) >= cfg.window and max(abs(v) for _, v in pts[-cfg.window:]) <= ZERO_STD}
    if not dead:
        return None
    scores = {name: h.points(f"rewards/{name}/mean")[-1:] for name in dead}
    said = ", ".join(f"{name} (always {pts[0][1]:.3g})" if pts else name for name, pts in scores.items())
    last = max(pts[-1][0] for pts in dead.values())
    return Alert("reward_func_zero_variance", "warning", last,
                 f"The reward {'function' if len(dead) == 1 else 'functions'} {said} gave every completion of each of "
                 f"the last {cfg.window} logged batches the same score (rewards/<name>/std = 0), so "
                 f"{'it adds' if len(dead) == 1 else 'they add'} nothing to the advantages and the policy learns "
                 "nothing from them: this policy always passes or always fails the check. Try a graded version "
                 "(partial credit), an easier or harder check, or drop it.",
                 {name: evidence(f"rewards/{name}/std", pts) for name, pts in dead.items()})


def reward_flat(h: History, cfg: AlertsSection) -> Alert | None:
    """The RL reward has not improved over a long stretch: the last quarter's mean is within a fraction of a standard
    deviation of the first quarter's. Judged once half the planned steps (or 2 epochs) are behind it."""
    key = h.first_of(SCORE_KEYS)
    if key is None or not h.rl_like:
        return None
    pts = h.points(key)
    if not long_stretch(h, len(pts), cfg):
        return None
    values = [v for _, v in pts]
    first, last, gain = quarter_gain(values)
    if gain >= cfg.flat_gain:
        return None
    return Alert("reward_flat", "warning", pts[-1][0],
                 f"The reward ({key}) is not improving: its mean over the last quarter of the {len(values)} logged "
                 f"steps is {last:.3g} against {first:.3g} over the first quarter ({gain:+.2f} standard deviations; "
                 f"steps {pts[0][0]}–{pts[-1][0]}" + (f", epoch {h.epoch:.1f}" if h.epoch is not None else "")
                 + "). The updates are not making the policy better at the task. Check that the reward can be earned "
                 "(look at a few rewarded and unrewarded completions), then try a higher learning rate, easier "
                 "prompts, or a denser reward.",
                 evidence(key, pts[-cfg.window:], first_quarter_mean=first, last_quarter_mean=last, gain_sd=gain))


RL_RULES: dict[str, Rule] = {
    "kl_out_of_range": kl_out_of_range,
    "kl_at_start": kl_at_start,
    "reward_hacking": reward_hacking,
    "reward_zero_variance": reward_zero_variance,
    "reward_func_zero_variance": reward_func_zero_variance,
    "reward_flat": reward_flat,
    "value_loss_diverging": value_loss_diverging,
    "response_length": response_length,
}

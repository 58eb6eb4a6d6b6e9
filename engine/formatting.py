"""Which metrics matter for each method, in the order a practitioner reads them."""

from __future__ import annotations

KEY_METRICS: dict[str, tuple[str, ...]] = {
    "dpo": ("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected",
            "logps/chosen", "logps/rejected", "grad_norm", "learning_rate"),
    "sft": ("loss", "mean_token_accuracy", "entropy", "num_tokens", "grad_norm", "learning_rate"),
    "rm": ("loss", "accuracy", "margin", "mean_reward", "grad_norm", "learning_rate"),
    "kto": ("loss", "rewards/margins", "rewards/chosen", "rewards/rejected", "kl", "logps/chosen", "logps/rejected",
            "grad_norm", "learning_rate"),
    "orpo": ("loss", "nll_loss", "log_odds_ratio", "rewards/margins", "rewards/accuracies", "logps/chosen",
             "logps/rejected", "grad_norm", "learning_rate"),
    "ppo": ("objective/scores", "objective/kl", "objective/rlhf_reward", "policy/approxkl_avg", "loss/value_avg",
            "val/num_eos_tokens", "lr"),
    "grpo": ("reward", "reward_std", "kl", "completions/mean_length", "completions/clipped_ratio", "grad_norm",
             "learning_rate"),
}
# CPO and SimPO log what ORPO logs, less the odds ratio; RLOO logs what GRPO logs.
KEY_METRICS["cpo"] = KEY_METRICS["simpo"] = tuple(k for k in KEY_METRICS["orpo"] if k != "log_odds_ratio")
KEY_METRICS["rloo"] = KEY_METRICS["grpo"]
DEFAULT_METRICS = ("loss", "grad_norm", "learning_rate")


def key_metrics(method: str | None) -> tuple[str, ...]:
    return KEY_METRICS.get(method or "", DEFAULT_METRICS)


def hms(seconds: float | None) -> str:
    """`H:MM:SS`, or '' for no (or a negative) duration."""
    if seconds is None or seconds < 0:
        return ""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def fmt(value: object, digits: int = 4) -> str:
    """A metric value in a short, readable form: `digits` decimals, or scientific notation when tiny or huge; '' for
    no value, yes/no for a flag."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)

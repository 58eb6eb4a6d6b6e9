"""What the TUI shows per training method: its charts, its headline columns, its recipe stage, its Configure keys."""

from __future__ import annotations

# Charts per method: (title, metric keys drawn on it). Train and eval of every key are overlaid.
CHARTS: dict[str, list[tuple[str, list[str]]]] = {
    "dpo": [
        ("loss", ["loss"]),
        ("rewards/margins", ["rewards/margins"]),
        ("rewards/accuracies", ["rewards/accuracies"]),
        ("logps chosen vs rejected", ["logps/chosen", "logps/rejected"]),
        ("rewards chosen vs rejected", ["rewards/chosen", "rewards/rejected"]),
    ],
    "sft": [
        ("loss", ["loss"]),
        ("mean_token_accuracy", ["mean_token_accuracy"]),
        ("entropy", ["entropy"]),
        ("grad_norm", ["grad_norm"]),
    ],
    "ppo": [
        ("objective/kl", ["objective/kl"]),
        ("objective/scores", ["objective/scores"]),
        ("loss/policy_avg", ["loss/policy_avg"]),
        ("loss/value_avg", ["loss/value_avg"]),
    ],
}
DEFAULT_CHARTS = [("loss", ["loss"]), ("grad_norm", ["grad_norm"]), ("learning_rate", ["learning_rate"])]
# Headline columns of the Runs table and the Compare metrics table, per method.
HEADLINE: dict[str, tuple[str, ...]] = {
    "dpo": ("rewards/margins", "rewards/accuracies"),
    "sft": ("loss", "mean_token_accuracy"),
}


def charts_for(method: str | None) -> list[tuple[str, list[str]]]:
    """The charts of the Run and Compare screens for `method` (loss, grad norm and learning rate when unknown)."""
    return CHARTS.get(method or "", DEFAULT_CHARTS)


# The stage a method belongs to, for grouping recipes (methods not known yet land in "Other").
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Supervised fine-tuning", ("sft",)),
    ("Reward modelling", ("rm", "reward")),
    ("Reinforcement learning", ("ppo", "grpo", "rloo")),
    ("Preference optimisation", ("dpo", "ipo", "kto", "orpo", "simpo", "cpo")),
)


def stage_of(method: str) -> str:
    """The stage heading a method's recipes are listed under on the Recipes screen."""
    for stage, methods in STAGES:
        if method in methods:
            return stage
    return "Other"


# Beyond β and loss type, what each method is tuned by (the Runs table's key settings, plus what an online method
# needs to be told: its reward model and how long its generations are).
ONLINE = ("method.reward_model", "method.temperature")
METHOD_EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "ppo": (*ONLINE, "method.response_length"),
    "grpo": (*ONLINE, "method.max_completion_length"),
    "rloo": (*ONLINE, "method.max_completion_length"),
}

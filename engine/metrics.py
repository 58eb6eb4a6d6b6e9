"""Which metrics matter for each method, in the order a practitioner reads them."""

from __future__ import annotations

KEY_METRICS: dict[str, tuple[str, ...]] = {
    "dpo": ("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected",
            "logps/chosen", "logps/rejected", "grad_norm", "learning_rate"),
    "sft": ("loss", "mean_token_accuracy", "entropy", "num_tokens", "grad_norm", "learning_rate"),
}
DEFAULT_METRICS = ("loss", "grad_norm", "learning_rate")


def key_metrics(method: str | None) -> tuple[str, ...]:
    return KEY_METRICS.get(method or "", DEFAULT_METRICS)


def fmt(value: object) -> str:
    """A metric value in a short, readable form."""
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.4f}"
    return str(value)

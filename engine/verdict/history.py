"""A run's metric history as the red-flag rules see it, the statistics they judge it with, and the alerts they raise."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.recipe.methods import methods_where
from engine.recipe.schema import AlertsSection

# Methods whose `loss` is ~0 by design (advantage-weighted) or absent: a flat loss says nothing there.
RL_METHODS = methods_where(generates=True)
# Keys only RL trainers log: they identify a run from another tool whose method we are not told.
RL_KEYS = ("objective/kl", "objective/scores", "completions/mean_length", "reward_std", "loss/value_avg",
           "frac_reward_zero_std")
# Older TRL releases logged some metrics under other names: each is also recorded under today's name (when the
# event does not carry that too), so one set of rules reads logs of every era.
KEY_ALIASES = {"completion_length": "completions/mean_length"}


@dataclass(frozen=True)
class Alert:
    """One red flag: which rule, how bad, what it means and what to try, and the numbers behind it."""

    rule: str
    severity: str  # "warning" | "error"
    step: int
    message: str
    evidence: dict[str, Any]

    def to_event(self) -> dict[str, Any]:
        """The fields of an `alert` event (the writer adds `t` and `kind`)."""
        return {"step": self.step, "rule": self.rule, "severity": self.severity, "message": self.message,
                "evidence": self.evidence}


def as_float(value: Any) -> float | None:
    """A metric value as a float; events store NaN/inf as the strings "nan"/"inf"/"-inf"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass
class History:
    """The metric history of one run: per split and metric, the (step, value) points in the order logged."""

    method: str | None = None
    max_steps: int | None = None
    sequences_per_step: int | None = None  # sequences per optimiser step (pairs × 2 for preference methods)
    beta: float | None = None  # DPO-family beta: turns rewards/* back into nats
    series: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=lambda: {"train": {}, "eval": {}})
    epoch: float | None = None  # the latest train event's epoch (how many passes over the data so far)

    def add(self, event: dict[str, Any]) -> None:
        """Record a `metric` event (others are ignored, except a status event's `max_steps`)."""
        if event.get("kind") == "status" and event.get("max_steps"):
            self.max_steps = int(event["max_steps"])
        if event.get("kind") != "metric":
            return
        split = event.get("split", "train")
        step = int(event.get("step") or 0)
        if split == "train" and isinstance(event.get("epoch"), (int, float)):
            self.epoch = float(event["epoch"])
        bucket = self.series.setdefault(split, {})
        values = dict(event.get("values") or {})
        for old, new in KEY_ALIASES.items():
            if old in values and new not in values:
                values[new] = values[old]
        for key, raw in values.items():
            value = as_float(raw)
            if value is not None:
                bucket.setdefault(key, []).append((step, value))

    def points(self, metric: str, split: str = "train", finite: bool = True) -> list[tuple[int, float]]:
        pts = self.series.get(split, {}).get(metric, [])
        return [p for p in pts if math.isfinite(p[1])] if finite else list(pts)

    def has(self, metric: str, split: str = "train") -> bool:
        return bool(self.series.get(split, {}).get(metric))

    def first_of(self, keys: Iterable[str], split: str = "train") -> str | None:
        return next((k for k in keys if self.has(k, split)), None)

    def planned_points(self) -> float | None:
        """How many train points the whole run will log (planned steps ÷ the logging interval seen so far)."""
        steps = sorted({s for pts in self.series.get("train", {}).values() for s, _ in pts})
        if not self.max_steps or len(steps) < 2:
            return None
        gaps = [b - a for a, b in zip(steps, steps[1:], strict=False) if b > a]
        return self.max_steps / statistics.median(gaps) if gaps else None

    @property
    def rl_like(self) -> bool:
        return (self.method or "") in RL_METHODS or any(self.has(k) for k in RL_KEYS)

    def tokens_per_sequence(self) -> float | None:
        """Mean tokens per sequence (prompt included), from the growth of `num_tokens`, when the batch is known."""
        pts = self.points("num_tokens")
        if not self.sequences_per_step or len(pts) < 2:
            return None
        (s0, n0), (s1, n1) = pts[0], pts[-1]
        if s1 <= s0 or n1 <= n0:
            return None
        return (n1 - n0) / (s1 - s0) / self.sequences_per_step


# ---------- statistics helpers (windows of logged points, robust to single noisy values) ----------

def kendall_tau(values: list[float]) -> float:
    """Kendall's tau of the values against their order: +1 always rising, -1 always falling, ~0 no trend."""
    n = len(values)
    if n < 2:
        return 0.0
    score = 0
    for i in range(n):
        for j in range(i + 1, n):
            score += (values[j] > values[i]) - (values[j] < values[i])
    return score / (n * (n - 1) / 2)


def head_median(values: list[float], k: int) -> float:
    """Median of the first `k` values: where a series started, robust to one odd batch."""
    return statistics.median(values[:k])


def tail_median(values: list[float], k: int) -> float:
    """Median of the last `k` values: where a series is now."""
    return statistics.median(values[-k:])


def quarter_gain(values: list[float]) -> tuple[float, float, float]:
    """(mean of the first quarter, mean of the last quarter, their difference in standard deviations of all the
    values): how far a noisy series moved over a long stretch (0 when it did not vary at all)."""
    q = max(1, len(values) // 4)
    first, last = statistics.fmean(values[:q]), statistics.fmean(values[-q:])
    sd = statistics.pstdev(values)
    return first, last, (last - first) / sd if sd > 0 else 0.0


def long_stretch(h: History, points: int, cfg: AlertsSection) -> bool:
    """Whether `points` logged points are enough to call a series flat: four windows, and half the planned run (or
    two epochs) behind it. Early in training a reward or a loss is often flat before it moves."""
    planned = h.planned_points()
    far = (planned is not None and points >= planned / 2) or (h.epoch is not None and h.epoch >= 2)
    return points >= 4 * cfg.window and far


def span(cfg: AlertsSection) -> int:
    """Points summarised by a start or end level: half a window, at least 3."""
    return max(3, cfg.window // 2)


def robust_z(value: float, baseline: list[float]) -> float:
    """How many robust standard deviations (1.4826 × MAD) `value` lies above the baseline's median."""
    med = statistics.median(baseline)
    mad = statistics.median(abs(v - med) for v in baseline) * 1.4826
    scale = max(mad, 0.05 * abs(med), 1e-12)  # a near-constant baseline must not make every wiggle a spike
    return (value - med) / scale


def rounded(x: float) -> float | str:
    """A number for evidence: 4 decimals, or its name when not finite (JSON has no NaN)."""
    return round(x, 4) if math.isfinite(x) else str(x)


def evidence(metric: str, pts: list[tuple[int, float]], split: str = "train", **extra: Any) -> dict[str, Any]:
    return {"metric": metric, "split": split, "steps": [s for s, _ in pts], "values": [rounded(v) for _, v in pts],
            **{k: (rounded(v) if isinstance(v, float) else v) for k, v in extra.items()}}

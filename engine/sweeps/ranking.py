"""Ranking a sweep's members: the metric per member, the mean and spread across seeds, and whether the top grid
point is really the best (its interval excludes the runner-up's) or tied with it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from engine.runs.store import RunView

HEADLINE = "headline"
AUTO = "auto"
FALLBACK = "eval:loss"  # what ranks members without a post-training headline (no evaluation, or no held-out data)


@dataclass(frozen=True)
class Score:
    """One member's number, with its 95% interval where the metric has one (a judge's win rate)."""

    value: float
    low: float | None = None
    high: float | None = None
    name: str = ""


def metric_of(view: RunView, metric: str) -> Score | None:
    """The member's value of `metric` (`headline`, `eval:KEY`, `train:KEY` or a bare KEY: eval, then train), or None
    when the run has no such figure (not finished, no evaluation)."""
    if metric == HEADLINE:
        head = view.record.get("headline") or {}
        value = head.get("value")
        if not isinstance(value, (int, float)):
            return None
        return Score(float(value), head.get("low"), head.get("high"), str(head.get("metric") or HEADLINE))
    split, _, key = metric.partition(":") if ":" in metric else ("", "", metric)
    for where in ([split] if split else ["eval", "train"]):
        value = view.summary.last.get(where, {}).get(key)
        if isinstance(value, (int, float)):
            return Score(float(value), name=f"{where} {key}")
    return None


def resolve_metric(metric: str, views: list[RunView]) -> str:
    """`auto`: the headline when any member has one, else the final eval loss."""
    if metric != AUTO:
        return metric
    return HEADLINE if any(metric_of(v, HEADLINE) for v in views) else FALLBACK


def higher_is_better(metric: str, direction: str | None) -> bool:
    if direction:
        return direction == "max"
    return "loss" not in metric and "perplexity" not in metric


@dataclass
class PointResult:
    """One grid point: its members (one per seed), their scores, and the summary the table shows."""

    label: str
    settings: dict[str, Any]
    members: list[dict[str, Any]]
    scores: list[Score] = field(default_factory=list)
    rank: int | None = None
    mark: str = ""  # "best", "tied" (with the best), or "" — see `rank_points`

    @property
    def mean(self) -> float | None:
        return statistics.fmean(s.value for s in self.scores) if self.scores else None

    @property
    def spread(self) -> tuple[float, float] | None:
        """(lowest, highest) value across seeds, when there are several."""
        if len(self.scores) < 2:
            return None
        values = [s.value for s in self.scores]
        return min(values), max(values)

    @property
    def interval(self) -> tuple[float, float] | None:
        """What the point's number could be: one seed → the metric's own 95% interval (if it has one); several →
        from the lowest seed's low end to the highest seed's high end (seed noise and sampling noise together)."""
        if not self.scores:
            return None
        lows = [s.low if s.low is not None else s.value for s in self.scores]
        highs = [s.high if s.high is not None else s.value for s in self.scores]
        has_ci = all(s.low is not None and s.high is not None for s in self.scores)
        if len(self.scores) == 1 and not has_ci:
            return None
        return min(lows), max(highs)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "settings": self.settings, "rank": self.rank, "mark": self.mark,
                "mean": self.mean, "spread": self.spread, "interval": self.interval, "n_scored": len(self.scores),
                "members": self.members}


def rank_points(points: list[PointResult], higher: bool) -> None:
    """Rank the scored points by mean; mark the top one `best` only when its interval excludes the runner-up's
    (both intervals known and apart), else `tied` together with every point whose interval overlaps the top's."""
    scored = sorted((p for p in points if p.mean is not None), key=lambda p: p.mean, reverse=higher)  # type: ignore
    for i, p in enumerate(scored, 1):
        p.rank = i
    if not scored:
        return
    top = scored[0]
    if len(scored) == 1:
        top.mark = "best" if len(points) == 1 else ""
        return
    runner = scored[1]
    a, b = top.interval, runner.interval
    if a is not None and b is not None and (a[0] > b[1] if higher else a[1] < b[0]):
        top.mark = "best"
        return
    top.mark = "tied"
    for p in scored[1:]:
        iv = p.interval
        if a is None or iv is None or (iv[1] >= a[0] if higher else iv[0] <= a[1]):
            p.mark = "tied"


def tie_note(points: list[PointResult]) -> str | None:
    """Why no point is marked best, for `reins sweep show` and the TUI; None when one is (or nothing is ranked)."""
    tied = sorted((p for p in points if p.mark == "tied"), key=lambda p: p.rank or 0)
    if not tied:
        return None
    if tied[0].interval is None:
        return ("tied: the ranking metric has no interval here (one seed of a figure without one), so no point is "
                "shown best; more seeds (--seeds) would give one")
    others = len(tied) - 1
    return (f"tied: {others} other point{'s overlap' if others != 1 else ' overlaps'} the top one's interval, so none "
            "is shown best (more prompts or seeds would separate them)")

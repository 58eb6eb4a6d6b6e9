"""Running the red-flag rules: every rule's verdict on a history, and a monitor that raises each alert once per
episode as metric events arrive (the worker while training, `reins health` and the report afterwards)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.recipe.schema import AlertsSection
from engine.verdict.history import Alert, History
from engine.verdict.rules import RULES


def evaluate(history: History, cfg: AlertsSection | None = None) -> list[Alert]:
    """Every rule's verdict on the history as it stands now (the conditions that hold at its last point)."""
    cfg = cfg or AlertsSection()
    found = (rule(history, cfg) for rule in RULES.values())
    return [a for a in found if a is not None]


class Monitor:
    """Feeds metric events to the rules; returns each alert once per episode (re-armed after a quiet window)."""

    def __init__(self, cfg: AlertsSection | None = None, method: str | None = None, max_steps: int | None = None,
                 sequences_per_step: int | None = None, beta: float | None = None) -> None:
        self.cfg = cfg or AlertsSection()
        self.history = History(method=method, max_steps=max_steps, sequences_per_step=sequences_per_step, beta=beta)
        self.quiet: dict[str, int] = {}  # rule key -> metric events seen since it last held (absent: not active)
        self.alerts: list[Alert] = []

    def update(self, event: dict[str, Any]) -> list[Alert]:
        """Take one event; return the alerts that start a new episode with it."""
        self.history.add(event)
        if event.get("kind") != "metric" or not self.cfg.enabled:
            return []
        new: list[Alert] = []
        holding = {a.rule: a for a in evaluate(self.history, self.cfg)}
        for rule in list(self.quiet):
            if rule not in holding:
                self.quiet[rule] += 1
                if self.quiet[rule] >= self.cfg.window:  # quiet long enough: the episode is over
                    del self.quiet[rule]
        for rule, alert in holding.items():
            if rule not in self.quiet:
                new.append(alert)
            self.quiet[rule] = 0
        self.alerts.extend(new)
        return new

    def feed(self, events: Iterable[dict[str, Any]]) -> list[Alert]:
        """Take many events; return every alert raised along the way."""
        out: list[Alert] = []
        for event in events:
            out.extend(self.update(event))
        return out

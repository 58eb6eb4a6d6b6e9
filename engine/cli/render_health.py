"""Rich rendering of `reins health` results: one block per alert, worst first, with its evidence."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from engine.verdict.healthcheck import HealthResult


def health_view(result: HealthResult) -> Group:
    """The alerts of one run for people: severity, rule, step, the message, and the last evidence points."""
    head = Text.assemble((result.source, "bold"), f"  ({result.kind}, {result.metric_events} metric events)")
    assumed = [Text(f"assumed: {result.assumed}", style="dim")] if result.assumed else []
    if not result.alerts:
        return Group(head, *assumed, Text("no red flags", style="green"))
    count = f"{result.errors} error(s), {len(result.alerts) - result.errors} warning(s)"
    lines: list[Any] = [head, *assumed, Text(count, style="red" if result.errors else "yellow")]
    for a in sorted(result.alerts, key=lambda a: (a.severity != "error", a.step)):
        style = "bold red" if a.severity == "error" else "bold yellow"
        lines.append(Text.assemble((f"{a.severity} ", style), (a.rule, "bold"), f"  at step {a.step}"))
        lines.append(Text("  " + a.message))
        ev = a.evidence
        parts = [ev] if "metric" in ev else [v for v in ev.values() if isinstance(v, dict) and "metric" in v]
        for part in parts:
            pairs = list(zip(part["steps"], part["values"], strict=False))[-8:]
            shown = ", ".join(f"{s}: {v}" for s, v in pairs)
            lines.append(Text(f"  {part.get('split', 'train')} {part['metric']} (step: value) {shown}", style="dim"))
    return Group(*lines)

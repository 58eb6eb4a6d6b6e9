"""Rich rendering of sweeps: the list, one sweep's ranked table, a progress line."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine import api
from engine.formatting import fmt
from engine.sweeps.ranking import tie_note

MARK_STYLE = {"best": "bold green", "tied": "yellow"}


def sweep_line(s: api.SweepSummary) -> str:
    """`sweep X: 2 completed · 1 running · 1 queued` (for --wait)."""
    return f"sweep {s.id}: " + " · ".join(f"{n} {state}" for state, n in sorted(s.counts().items()))


def sweeps_table(summaries: list[api.SweepSummary]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("id", "status", "members", "grid", "metric", "best"):
        table.add_column(col)
    for s in summaries:
        top = next((p for p in s.points if p.rank == 1), None)
        best = f"{top.label} ({top.mark or 'ranked 1st'})" if top else "-"
        grid = ", ".join(f"{k}×{len(v)}" for k, v in s.record.get("grid", {}).items())
        table.add_row(s.id, s.status, " · ".join(f"{n} {st}" for st, n in sorted(s.counts().items())), grid,
                      s.metric, best)
    return table


def _score(p: Any) -> str:
    if p.mean is None:
        return "-"
    text = fmt(p.mean, 3)
    if p.spread:
        text += f" (seeds {fmt(p.spread[0], 3)}–{fmt(p.spread[1], 3)})"
    if p.interval:
        text += f" [{fmt(p.interval[0], 2)}, {fmt(p.interval[1], 2)}]"
    return text


def sweep_table(s: api.SweepSummary) -> Group:
    """Varied settings as columns, the ranking metric (mean, spread across seeds, interval), the members' final
    figures and alerts, and the best point marked (or `tied`)."""
    head = Text()
    head.append(f"sweep {s.id}", style="bold").append(f"  {s.status}  ")
    head.append(f"ranked by {s.metric} ({'higher' if s.higher else 'lower'} is better)", style="dim")
    parts: list[Any] = [head]
    if s.record.get("description"):
        parts.append(Text(s.record["description"], style="dim"))
    for st in s.record.get("stages", []):
        parts.append(Text(f"stage {st['name']}: {st.get('run_id') or '-'} {st['status']}", style="dim"))
    table = Table(box=None, header_style="bold", pad_edge=False)
    cols = s.columns
    table.add_column("rank")
    for name in cols.values():
        table.add_column(name)
    for col in (s.metric, "status", "loss", "eval acc", "margin", "alerts", "verdict", "runs"):
        table.add_column(col)
    for p in sorted(s.points, key=lambda p: (p.rank is None, p.rank or 0)):
        members = p.members
        statuses = sorted({m.get("status", "?") for m in members})
        rank = Text(f"{p.rank}" if p.rank else "-")
        if p.mark:
            rank.append(f" {p.mark}", style=MARK_STYLE.get(p.mark, ""))
        one = members[0] if len(members) == 1 else {}
        table.add_row(
            rank, *[str(p.settings.get(k, "")) for k in cols], _score(p), "/".join(statuses),
            _mean(members, "loss"), _mean(members, "eval_accuracy"), _mean(members, "eval_margin"),
            str(sum(m.get("alerts") or 0 for m in members)), str(one.get("verdict") or "-") if one else
            "/".join(sorted({str(m.get("verdict") or "-") for m in members})),
            " ".join(str(m.get("run_id") or "-") for m in members))
    parts.append(table)
    note = tie_note(s.points)
    if note:
        parts.append(Text(note, style="yellow"))
    return Group(*parts)


def _mean(members: list[dict[str, Any]], key: str) -> str:
    values = [m[key] for m in members if isinstance(m.get(key), (int, float))]
    return fmt(sum(values) / len(values), 4) if values else "-"

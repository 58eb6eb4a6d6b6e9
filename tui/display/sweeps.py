"""The Sweeps screen's content: one line per sweep, one row per member in rank order, and the chart's points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.sweeps.ranking import tie_note
from tui.display.cells import fmt

# Member and sweep statuses in the order a count line lists them (the rest follow alphabetically).
STATUS_ORDER = ("running", "starting", "created", "queued", "pending", "completed", "stopped", "failed", "crashed")
# A log axis fits values spread over this factor or more (0.05…0.5, 1e-5…1e-4, batch sizes 1…8).
LOG_SPAN = 8.0
MAX_TICKS = 6


@dataclass(frozen=True)
class SweepRow:
    """One line of the sweep list (all strings)."""

    id: str
    status: str
    members: str
    grid: str
    metric: str
    best: str


def counts_text(counts: dict[str, int]) -> str:
    """`1 running · 2 queued · 3 completed`: live states first."""
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    return " · ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))


def grid_text(grid: dict[str, list[Any]], columns: dict[str, str]) -> str:
    """`beta×3 lr×2`: each varied setting by its column name and how many values it takes."""
    return " ".join(f"{columns.get(k, k)}×{len(v)}" for k, v in grid.items())


def best_text(summary: Any) -> str:
    """The top grid point and whether it is really best (`best`), tied with others (`tied`) or merely first."""
    top = next((p for p in summary.points if p.rank == 1), None)
    if top is None:
        return "–"
    return f"{top.label} ({top.mark or '1st'})"


def sweep_row(summary: Any) -> SweepRow:
    """The sweep list's line for a `SweepSummary`."""
    rec = summary.record
    return SweepRow(id=summary.id, status=summary.status, members=counts_text(summary.counts()),
                    grid=grid_text(rec.get("grid") or {}, summary.columns), metric=summary.metric,
                    best=best_text(summary))


def head_lines(summary: Any) -> list[str]:
    """What the members table is about: the sweep, how it is ranked, its stage runs, and why no point is best."""
    rec = summary.record
    seeds = int(rec.get("seeds") or 1)
    lines = [f"{summary.id} · {summary.status} · ranked by {summary.metric} "
             f"({'higher' if summary.higher else 'lower'} is better)" + (f" · {seeds} seeds a point" if seeds > 1
                                                                        else "")]
    if rec.get("description"):
        lines.append(str(rec["description"]))
    lines += [f"stage {st.get('name')}: {st.get('run_id') or '–'} {st.get('status')}" for st in rec.get("stages", [])]
    note = tie_note(summary.points)
    return [*lines, note] if note else lines


def score_text(point: Any) -> str:
    """A grid point's ranking figure: its mean, the spread across seeds, and its interval: `0.712 (0.70–0.73)
    [0.61, 0.80]`; '–' while no member has a score."""
    if point.mean is None:
        return "–"
    text = fmt(point.mean)
    if point.spread:
        text += f" ({fmt(point.spread[0])}–{fmt(point.spread[1])})"
    if point.interval:
        text += f" [{fmt(point.interval[0], 2)}, {fmt(point.interval[1], 2)}]"
    return text


@dataclass(frozen=True)
class MemberRow:
    """One member of a sweep as the members table shows it; rank, mark and score only on its point's first row."""

    key: str  # the run's id, or `member-<index>` for a member that never got a run
    run_id: str | None
    rank: str
    mark: str  # best / tied / ''
    settings: tuple[str, ...]  # one cell per grid key, in the grid's order
    seed: str
    score: str  # the point's figure (mean, spread, interval)
    own: str  # this member's own value of the metric (several seeds)
    status: str
    loss: str
    eval_acc: str
    alerts: int
    verdict: str


def setting_text(value: Any) -> str:
    """A grid value as the user typed it (`0.1`, `5e-05`, `ipo`)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def ranked_points(summary: Any) -> list[Any]:
    """Grid points best first; points not ranked yet (no member has finished) last, in grid order."""
    return sorted(summary.points, key=lambda p: (p.rank is None, p.rank or 0))


def member_rows(summary: Any) -> list[MemberRow]:
    """Every member, grouped by grid point in rank order (seeds of one point together, in seed order)."""
    from engine.verdict.decision import short_verdict

    keys = list(summary.columns)
    rows = []
    for point in ranked_points(summary):
        for i, m in enumerate(sorted(point.members, key=lambda m: m.get("index", 0))):
            first = i == 0
            own = (m.get("score") or {}).get("value")
            rows.append(MemberRow(
                key=m.get("run_id") or f"member-{m.get('index', i)}", run_id=m.get("run_id"),
                rank=(str(point.rank) if point.rank else "–") if first else "",
                mark=point.mark if first else "",
                settings=tuple(setting_text(point.settings.get(k, "")) for k in keys),
                seed="" if m.get("seed") is None else str(m["seed"]),
                score=score_text(point) if first else "", own=fmt(own),
                status=str(m.get("status", "?")), loss=fmt(m.get("loss")), eval_acc=fmt(m.get("eval_accuracy")),
                alerts=int(m.get("alerts") or 0), verdict=short_verdict({"verdict": m.get("verdict")}),
            ))
    return rows


def member_ids(summary: Any) -> list[str]:
    """The members' run ids in rank order (members that never got a run left out): what Compare overlays."""
    return [r.run_id for r in member_rows(summary) if r.run_id]


# ---- the chart: the ranking metric against the first grid key --------------------------------------------------


@dataclass(frozen=True)
class ChartLine:
    """The scored points of one combination of the other grid keys, in x order; `lows`/`highs` are the interval
    (None where a point has none)."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    lows: tuple[float | None, ...]
    highs: tuple[float | None, ...]


@dataclass(frozen=True)
class SweepPlot:
    """What the sweep chart draws: x positions on a `log`, `linear` or `category` axis, ticks at the swept values."""

    key: str  # the first grid key's column name
    scale: str
    ticks: tuple[tuple[float, str], ...]
    limits: tuple[float, float]
    lines: tuple[ChartLine, ...]
    scored: int  # grid points with a score
    total: int


def axis_scale(values: list[Any]) -> str:
    """`log` for positive numbers spread over a factor of LOG_SPAN or more, `linear` for other numbers, else
    `category` (strings, flags, lists)."""
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "category"
    if min(values) > 0 and max(values) / min(values) >= LOG_SPAN:
        return "log"
    return "linear"


def _position(value: Any, scale: str, order: list[Any]) -> float:
    if scale == "log":
        return math.log10(value)
    if scale == "linear":
        return float(value)
    return float(order.index(value) + 1)  # textual-plot's categories sit at 1, 2, …


def _thin(ticks: list[tuple[float, str]], most: int) -> list[tuple[float, str]]:
    """At most `most` ticks, evenly picked, the first and last kept, so labels don't run into each other."""
    if len(ticks) <= most:
        return ticks
    step = (len(ticks) - 1) / (most - 1)
    return [ticks[round(i * step)] for i in range(most)]


def sweep_plot(summary: Any, max_ticks: int = MAX_TICKS) -> SweepPlot | None:
    """The chart of the sweep's metric against its first grid key: one line per combination of the other keys,
    means as points, intervals as whiskers. None for a sweep without a grid."""
    grid = summary.record.get("grid") or {}
    if not grid:
        return None
    key, *others = list(grid)
    values: list[Any] = []
    for v in grid[key]:  # unique, in the grid's order (a list-valued setting's values are lists: unhashable)
        if v not in values:
            values.append(v)
    scale = axis_scale(values)
    order = sorted(values) if scale != "category" else values
    ticks = _thin([(_position(v, scale, order), setting_text(v)) for v in order], max_ticks)
    positions = [_position(v, scale, order) for v in order]
    low, high = min(positions), max(positions)
    pad = 0.5 if scale == "category" else (high - low) * 0.06 or (0.5 if scale == "log" else abs(low) * 0.1 or 1.0)
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for p in summary.points:
        if p.mean is not None and p.settings.get(key) in values:
            groups.setdefault(tuple(repr(p.settings.get(k)) for k in others), []).append(p)
    columns = summary.columns
    lines = []
    for points in groups.values():
        points.sort(key=lambda p: _position(p.settings[key], scale, order))
        label = " ".join(f"{columns.get(k, k)}={setting_text(points[0].settings.get(k))}" for k in others)
        intervals = [p.interval for p in points]
        lines.append(ChartLine(label, tuple(_position(p.settings[key], scale, order) for p in points),
                               tuple(float(p.mean) for p in points),
                               tuple(iv[0] if iv else None for iv in intervals),
                               tuple(iv[1] if iv else None for iv in intervals)))
    return SweepPlot(columns.get(key, key), scale, tuple(ticks), (low - pad, high + pad), tuple(lines),
                     scored=sum(p.mean is not None for p in summary.points), total=len(summary.points))

"""The Sweeps screen's content: members in rank order with their marks, and the chart's axis and whiskers."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine.sweeps.ranking import PointResult, Score, rank_points
from engine.sweeps.summary import SweepSummary
from tui.display.sweeps import axis_scale, counts_text, member_ids, member_rows, score_text, sweep_plot, sweep_row


def summary(points: list[tuple[dict[str, Any], list[tuple[float, float | None, float | None] | None]]],
            grid: dict[str, list[Any]], seeds: int = 1, higher: bool = True) -> SweepSummary:
    """A ranked sweep: each point its settings and one (value, low, high) per member (None: not finished)."""
    results, members, index = [], [], 0
    for settings, scores in points:
        point = PointResult(" ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in settings.items()), settings, [])
        for i, score in enumerate(scores):
            run_id = f"run-{index}"
            member = {"index": index, "run_id": run_id, "settings": settings, "seed": 42 + i if seeds > 1 else None,
                      "status": "completed" if score else "running", "loss": 0.5, "eval_accuracy": 0.75,
                      "alerts": 0, "verdict": "keep" if score else None,
                      "score": {"value": score[0]} if score else None}
            point.members.append(member)
            members.append(member)
            if score:
                point.scores.append(Score(*score))
            index += 1
        results.append(point)
    rank_points(results, higher)
    record = {"id": "20260922-090000-sweep", "status": "running", "grid": grid, "seeds": seeds,
              "columns": {k: k.rsplit(".", 1)[-1] for k in grid}, "members": members}
    return SweepSummary(record, "headline", higher, results)


def test_members_come_best_first_and_only_a_clear_winner_is_marked_best() -> None:
    s = summary([({"method.beta": 0.05}, [(0.40, 0.31, 0.49)]), ({"method.beta": 0.1}, [(0.74, 0.66, 0.82)]),
                 ({"method.beta": 0.5}, [None])], {"method.beta": [0.05, 0.1, 0.5]})
    rows = member_rows(s)
    assert [(r.rank, r.mark, r.settings) for r in rows] == [("1", "best", ("0.1",)), ("2", "", ("0.05",)),
                                                            ("–", "", ("0.5",))]
    assert rows[0].score == "0.740 [0.66, 0.82]" and rows[2].score == "–"
    assert member_ids(s) == ["run-1", "run-0", "run-2"]
    row = sweep_row(s)
    assert row.best == "beta=0.1 (best)" and row.grid == "beta×3"


def test_overlapping_intervals_are_tied_and_seeds_share_their_points_row() -> None:
    s = summary([({"method.beta": 0.1}, [(0.60, 0.5, 0.7), (0.64, 0.52, 0.74)]),
                 ({"method.beta": 0.3}, [(0.58, 0.48, 0.68), (0.56, 0.46, 0.66)])],
                {"method.beta": [0.1, 0.3]}, seeds=2)
    rows = member_rows(s)
    assert [(r.rank, r.mark, r.seed, r.own) for r in rows] == [
        ("1", "tied", "42", "0.600"), ("", "", "43", "0.640"), ("2", "tied", "42", "0.580"), ("", "", "43", "0.560")]
    # the mean, the spread across seeds, and the interval from the lowest low to the highest high
    assert rows[0].score == "0.620 (0.600–0.640) [0.50, 0.74]"
    assert rows[1].score == ""
    assert sweep_row(s).best == "beta=0.1 (tied)"


def test_a_lower_is_better_metric_ranks_the_smallest_first() -> None:
    s = summary([({"train.learning_rate": 1e-4}, [(0.9, None, None)]), ({"train.learning_rate": 5e-5},
                                                                         [(0.7, None, None)])],
                {"train.learning_rate": [5e-5, 1e-4]}, higher=False)
    assert [r.settings for r in member_rows(s)] == [("5e-05",), ("0.0001",)]
    assert score_text(s.points[0]) == "0.900"  # one seed and no interval: the value alone


@pytest.mark.parametrize(("values", "scale"), [
    ([0.05, 0.1, 0.5], "log"), ([1e-5, 5e-5, 1e-4], "log"), ([1, 2, 4, 8], "log"), ([0.1, 0.2, 0.3], "linear"),
    ([0, 0.1, 1.0], "linear"), (["sigmoid", "ipo"], "category"), ([True, False], "category"),
])
def test_the_axis_fits_the_swept_values(values: list[Any], scale: str) -> None:
    assert axis_scale(values) == scale


def test_the_chart_puts_points_on_a_log_axis_with_whiskers_and_ticks_at_the_swept_values() -> None:
    s = summary([({"method.beta": 0.5}, [(0.41, 0.30, 0.52)]), ({"method.beta": 0.05}, [(0.55, None, None)]),
                 ({"method.beta": 0.1}, [None])], {"method.beta": [0.05, 0.1, 0.5]})
    plot = sweep_plot(s)
    assert plot is not None and plot.scale == "log" and plot.key == "beta"
    assert [label for _, label in plot.ticks] == ["0.05", "0.1", "0.5"]
    assert plot.ticks[0][0] == pytest.approx(math.log10(0.05))
    (line,) = plot.lines
    # the unfinished point is left out; x order; a whisker only where the point has an interval
    assert line.ys == (0.55, 0.41) and line.lows == (None, 0.30) and line.highs == (None, 0.52)
    assert plot.limits[0] < plot.ticks[0][0] and plot.limits[1] > plot.ticks[-1][0]
    assert (plot.scored, plot.total) == (2, 3)


def test_a_second_grid_key_draws_one_line_per_value_and_strings_sit_on_categories() -> None:
    grid = {"method.loss_type": ["sigmoid", "ipo"], "train.learning_rate": [1e-4, 2e-4]}
    s = summary([({"method.loss_type": t, "train.learning_rate": lr}, [(v, None, None)])
                 for (t, lr), v in zip([("sigmoid", 1e-4), ("sigmoid", 2e-4), ("ipo", 1e-4), ("ipo", 2e-4)],
                                       [0.6, 0.7, 0.5, 0.65], strict=True)], grid)
    plot = sweep_plot(s)
    assert plot is not None and plot.scale == "category"
    assert plot.ticks == ((1.0, "sigmoid"), (2.0, "ipo"))
    assert {line.label: line.ys for line in plot.lines} == {"learning_rate=0.0001": (0.6, 0.5),
                                                            "learning_rate=0.0002": (0.7, 0.65)}


def test_many_values_get_fewer_ticks_the_first_and_last_kept() -> None:
    values = [0.01 * i for i in range(1, 11)]
    s = summary([({"method.beta": v}, [(v, None, None)]) for v in values], {"method.beta": values})
    plot = sweep_plot(s, max_ticks=4)
    assert plot is not None and [label for _, label in plot.ticks] == ["0.01", "0.04", "0.07", "0.1"]


def test_member_counts_list_live_states_first() -> None:
    assert counts_text({"completed": 2, "queued": 1, "running": 1}) == "1 running · 1 queued · 2 completed"

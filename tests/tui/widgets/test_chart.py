"""A metric chart with a single point, or a single value, labels its axes with distinct, readable ticks."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tui.display.series import Series
from tui.widgets.chart import MetricChart, single_value_limits


class OneChart(App[None]):
    CSS = "MetricChart { width: 60; height: 12; }"

    def compose(self) -> ComposeResult:
        yield MetricChart("loss", ["loss"])


def metric(step: int, value: float, split: str = "train") -> dict:
    return {"kind": "metric", "step": step, "epoch": step / 20, "split": split, "values": {"loss": value}}


async def tick_labels(events: list[dict], x: str = "step") -> tuple[list[str], list[str]]:
    """(x labels left to right, y labels top to bottom) as the chart's margins show them."""
    app = OneChart()
    async with app.run_test(size=(80, 16)) as pilot:
        series = Series()
        series.add(events)
        chart = app.query_one(MetricChart)
        chart.show([("", series)], x=x)
        await pilot.pause(0.1)
        bottom, left = chart.query_one("#margin-bottom"), chart.query_one("#margin-left")
        xs = bottom.render_line(0).text.split()
        ys = [t for t in (left.render_line(y).text.strip() for y in range(left.size.height)) if t]
    return xs, ys


@pytest.mark.anyio
async def test_one_step_gets_the_neighbouring_steps_and_a_y_range_around_its_value() -> None:
    xs, ys = await tick_labels([metric(5, 0.693)])
    assert xs == ["4", "5", "6"]  # not 4.9999990 … 5.0000005 running into each other
    assert len(ys) > 1 and len(set(ys)) == len(ys)  # not 0.69300 four times
    values = [float(y) for y in ys]
    assert min(values) < 0.693 < max(values)


@pytest.mark.anyio
async def test_the_eval_before_training_alone_starts_the_step_axis_at_zero() -> None:
    xs, _ = await tick_labels([metric(0, 0.693, split="eval")])
    assert xs == ["0", "1", "2"]


@pytest.mark.anyio
async def test_one_point_on_the_epoch_axis_has_distinct_ticks_around_it() -> None:
    xs, _ = await tick_labels([metric(1, 0.5)], x="epoch")
    values = [float(x) for x in xs]  # each label a number of its own: none run together
    assert len(set(xs)) == len(xs) > 1 and min(values) < 0.05 < max(values)
    assert all(len(x) <= 5 for x in xs)


@pytest.mark.anyio
async def test_a_real_range_is_left_to_the_plot_after_a_single_point() -> None:
    app = OneChart()
    async with app.run_test(size=(80, 16)) as pilot:
        chart = app.query_one(MetricChart)
        series = Series()
        series.add([metric(1, 0.7)])
        chart.show([("", series)])
        await pilot.pause(0.1)
        series.add([metric(s, 0.7 - 0.01 * s) for s in range(2, 11)])
        chart.show([("", series)])
        await pilot.pause(0.1)
        assert (chart._x_min, chart._x_max) == (1.0, 10.0)  # autoscaled to the data again, ticks included
        assert chart.query_one("#margin-bottom").render_line(0).text.split()[-1] == "10"


def test_single_value_limits() -> None:
    assert single_value_limits([]) is None
    assert single_value_limits([1.0, 2.0]) is None
    assert single_value_limits([3.0, 3.0], whole=True) == (2.0, 4.0)
    assert single_value_limits([0.0], whole=True) == (0.0, 2.0)
    assert single_value_limits([0.0]) == (-1.0, 1.0)
    assert single_value_limits([-2.0]) == pytest.approx((-2.2, -1.8))

"""The Compare and Run screens' x axis: step, epoch or tokens seen, and runs that cannot be placed on it named."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.app import make_app


@pytest.mark.anyio
async def test_x_axis_cycles_step_epoch_tokens_and_names_runs_without_token_counts(tmp_path: Path,
                                                                                   fake_runs: SimpleNamespace,
                                                                                   settle, until) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_run(runs, "20260921-100000-with-tokens", steps=10, tokens_per_step=600)
    fake_runs.write_run(runs, "20260921-110000-no-tokens", steps=10)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.open_compare(["20260921-100000-with-tokens", "20260921-110000-no-tokens"])
        await until(pilot, app, lambda: type(app.screen).__name__ == "CompareScreen" and app.screen.loaded)
        compare = app.screen
        loss = compare.query("MetricChart").first()
        assert loss.points == 2 * (10 + 2)  # per run: 10 train points, evals at steps 0 and 10
        await pilot.press("e")
        assert compare.x_axis == "epoch" and loss.points == 2 * (10 + 2)
        await pilot.press("e")
        assert compare.x_axis == "tokens"
        # Only run A logged token counts: B is left out and the chart's title says so.
        assert loss.points == 10 + 2
        assert "by tokens" in loss.border_title and "no token counts in B" in loss.border_title
        xs, _ = compare.series[0].get("train", "loss", "tokens")
        assert xs == [600.0 * s for s in range(1, 11)]
        exs, _ = compare.series[0].get("eval", "loss", "tokens")
        assert exs == [0.0, 6000.0]  # the eval before training at 0 tokens, the one at step 10 where step 10 was
        await pilot.press("e")
        assert compare.x_axis == "step" and loss.border_title == "loss"

        # The Run screen cycles the same way and says when the run itself has no token counts.
        await pilot.press("escape")
        app.open_run("20260921-110000-no-tokens")
        await settle(pilot, app)
        run = app.screen
        await until(pilot, app, lambda: run.summary is not None and run.summary.step == 10)
        await pilot.press("e", "e")
        chart = run.query("MetricChart").first()
        assert run.x_axis == "tokens" and chart.points == 0
        assert "no token counts in this run" in chart.border_title

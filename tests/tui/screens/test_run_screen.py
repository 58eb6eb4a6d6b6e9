"""The Run screen: the Samples tab appears once the post-training evaluation writes samples, and says what it does."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.app import make_app


@pytest.mark.anyio
async def test_samples_tab_appears_with_samples_and_is_keyboard_navigable(tmp_path: Path, fake_runs: SimpleNamespace,
                                                                          settle, until, text_of) -> None:
    runs = tmp_path / "runs"
    rd = fake_runs.write_run(runs, "20260921-160000-live", steps=20, live=True)
    app = make_app(runs_dir=runs, now=None, poll_s=0.05, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, app, lambda: type(app.screen).__name__ == "RunScreen")
        run = app.screen
        await until(pilot, app, lambda: run.summary is not None and run.summary.step == 20)
        tabs = run.query_one("TabbedContent")
        assert not tabs.get_tab("samples").display  # no samples: no tab
        await pilot.press("p")
        assert tabs.active == "charts"

        # Training ends and the worker starts evaluating: the progress line says so instead of an ETA.
        fake_runs.write_events(rd, [{"t": 1e9, "kind": "phase", "step": 20, "name": "post-training evaluation",
                                     "detail": "policy answers 16/32"}], mode="a")
        await until(pilot, app, lambda: "post-training evaluation: policy answers 16/32…"
                    in text_of(run.query_one("#run-progress")))
        # The evaluation writes its samples: the tab appears, counts them, p opens it.
        fake_runs.write_events(rd, fake_runs.sample_events(20), mode="a")
        await until(pilot, app, lambda: len(run.series.samples) == 3)
        await settle(pilot, app)
        assert tabs.get_tab("samples").display and "Samples (3)" in str(tabs.get_tab("samples").label)
        await pilot.press("p")
        assert tabs.active == "samples"

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


@pytest.mark.anyio
async def test_marking_a_sample_writes_the_journal_and_updates_the_agreement(tmp_path: Path, fake_runs: SimpleNamespace,
                                                                            settle, until, text_of) -> None:
    from engine.runs.annotations import Journal, chosen, latest
    from engine.runs.rundir import RunDir

    runs = tmp_path / "runs"
    rd = RunDir(fake_runs.write_run(runs, "20260921-170000-done", steps=20))
    fake_runs.write_events(rd.path, fake_runs.sample_events(20), mode="a")  # judge: policy, reference, tie
    app = make_app(runs_dir=runs, now=None, poll_s=0.05, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.open_run(rd.id)
        await until(pilot, app, lambda: type(app.screen).__name__ == "RunScreen")
        run = app.screen
        await until(pilot, app, lambda: len(run.series.samples) == 3)
        await settle(pilot, app)
        tabs = run.query_one("TabbedContent")
        await pilot.press("p")  # opens the tab, the table takes the keys
        await pilot.press("p", "down", "p")  # #1 policy (the judge agrees), #2 policy (the judge said reference)
        await until(pilot, app, lambda: len(Journal.of_run(rd).records()) == 2)
        await settle(pilot, app)
        records = Journal.of_run(rd).records()
        assert [(r["source"]["sample"], r["choice"], r["judge"]) for r in records] == [(0, "a", "a"), (1, "a", "b")]
        assert "agreement 1/2" in str(tabs.get_tab("samples").label)
        assert "1 disagreement" in text_of(run.query_one("#samples-eval"))
        assert "policy ≠" in str(run.query_one("#sample-table").get_cell("1", "you"))

        await pilot.press("r")  # changed my mind on #2: the judge was right
        await until(pilot, app, lambda: len(Journal.of_run(rd).records()) == 3)
        await settle(pilot, app)
        assert [chosen(r) for r in latest(Journal.of_run(rd).records())] == ["policy", "reference"]
        assert "agreement 2/2" in str(tabs.get_tab("samples").label)
        assert "Human agreement with the judge" in rd.report_md.read_text()  # the report followed the marks

        await pilot.press("t", "p", "r")  # quick presses: written one at a time, in the order pressed
        await until(pilot, app, lambda: len(Journal.of_run(rd).records()) == 6)
        await settle(pilot, app)
        assert [r["choice"] for r in Journal.of_run(rd).records()[3:]] == ["tie", "a", "b"]
        assert "agreement 2/2" in str(tabs.get_tab("samples").label)

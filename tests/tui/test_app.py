"""Pilot tests of the app as a whole: recipe → form → estimate → launch → live run → alert → compare, reattaching,
quitting, help and palette, and the mode keys 1, 2 and 3."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.app import make_app


def fake_launch(write_run, calls: list):  # noqa: ANN001, ANN201
    """A stand-in for engine.api.launch that writes a live run directory (this process as its pid)."""

    def launch(recipe, overrides=(), name=None, runs_dir=None, gpu_memory_gib=None):  # noqa: ANN001, ANN202
        from engine import api

        calls.append({"recipe": Path(recipe).name, "overrides": list(overrides), "name": name})
        rd = write_run(Path(runs_dir), "20260921-150000-launched", steps=0, live=True)
        return api.get_run(rd.name, runs_dir)

    return launch


@pytest.mark.anyio
async def test_recipe_to_launch_to_live_to_alert_to_compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            fake_runs: SimpleNamespace, settle, until,
                                                            text_of) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_store(runs)
    calls: list = []
    monkeypatch.setattr("engine.api.launch", fake_launch(fake_runs.write_run, calls))
    app = make_app(runs_dir=runs, now=None, start="recipes", gpu_memory_gib=8.0, poll_s=0.05, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        # Recipes: grouped by stage, dpo is under preference optimisation.
        olist = app.screen.query_one("OptionList")
        headings = [str(olist.get_option_at_index(i).prompt) for i in range(olist.option_count)]
        assert "PREFERENCE OPTIMISATION" in headings and "SUPERVISED FINE-TUNING" in headings
        dpo_index = next(i for i in range(olist.option_count) if olist.get_option_at_index(i).id == "dpo")
        olist.highlighted = dpo_index
        await pilot.press("enter")
        await settle(pilot, app)
        configure = app.screen
        assert type(configure).__name__ == "ConfigureScreen"
        await until(pilot, app, lambda: configure.estimate is not None)
        before = configure.estimate["total_gib"]
        assert configure.overrides == []

        # Edit a field: the estimate changes and the override is what `reins run --set` would get.
        configure.query_one("#w-train--batch-size").value = "8"
        await until(pilot, app, lambda: configure.estimate is not None and configure.estimate["total_gib"] != before)
        assert configure.overrides == ["train.batch_size=8"]
        assert configure.estimate["total_gib"] > before

        # A bad value: the error sits next to its field and there is no estimate.
        configure.query_one("#w-method--beta").value = "-1"
        await until(pilot, app, lambda: bool(configure.problems))
        err = configure.query_one("#err-w-method--beta")
        assert "shown" in err.classes and "must be > 0" in text_of(err)
        configure.query_one("#w-method--beta").value = "0.2"
        await until(pilot, app, lambda: not configure.problems and configure.estimate is not None)

        # Launch: the engine call gets the recipe and the overrides; the live Run screen opens.
        await pilot.press("ctrl+l")
        await until(pilot, app, lambda: type(app.screen).__name__ == "RunScreen")
        assert calls == [{"recipe": "dpo.yaml", "overrides": ["train.batch_size=8", "method.beta=0.2"],
                          "name": None}]
        run = app.screen
        assert run.run_id == "20260921-150000-launched"
        await until(pilot, app, lambda: run.status == "running")

        # Events appended by "the worker" show up as new chart points and a moving step counter.
        rd = runs / run.run_id
        fake_runs.write_events(rd, [fake_runs.metric(s, fake_runs.dpo_values(s)) for s in (1, 2, 3)], mode="a")
        await until(pilot, app, lambda: run.summary is not None and run.summary.step == 3)
        loss_chart = run.query("MetricChart").first()
        assert loss_chart.points == 3 + 1  # three train points and the eval-at-start point
        assert "step 3/20" in text_of(run.query_one("#run-progress"))
        fake_runs.write_events(rd, [fake_runs.metric(4, fake_runs.dpo_values(4)),
                                    {"t": 1, "kind": "system", "step": 4,
                                     "values": {"s_per_step": 2.0, "tokens_per_s": 100.0}}], mode="a")
        await until(pilot, app, lambda: loss_chart.points == 4 + 1)
        assert "ETA 0:00:32" in text_of(run.query_one("#run-progress"))

        # An alert event appears in the alerts panel and the tab label counts it.
        fake_runs.write_events(rd, [fake_runs.alert_event(4)], mode="a")
        await until(pilot, app, lambda: len(run.series.alerts) == 1)
        await pilot.press("a")
        assert "rejected_logps_collapse" in text_of(run.query_one("#alerts-list"))
        assert "Alerts (1)" in str(run.query_one("TabbedContent").get_tab("alerts").label)

        # Back to Runs, select two runs, compare.
        await pilot.press("escape", "2")
        await settle(pilot, app)
        runs_screen = app.screen
        assert type(runs_screen).__name__ == "RunsScreen"
        await pilot.press("r")
        await until(pilot, app, lambda: len(runs_screen.rows) == 6)
        await pilot.press("space", "space", "c")
        await until(pilot, app, lambda: type(app.screen).__name__ == "CompareScreen" and app.screen.loaded)
        compare = app.screen
        assert len(compare.run_ids) == 2
        diff = compare.query_one("#compare-diff")
        assert diff.row_count >= 1


@pytest.mark.anyio
@pytest.mark.parametrize(("start", "first", "other"), [("recipes", "RecipesScreen", "RunsScreen"),
                                                       (None, "RunsScreen", "RecipesScreen"),
                                                       ("sweeps", "SweepsScreen", "RunsScreen")])
async def test_mode_keys_return_to_the_very_screen_the_app_started_on(tmp_path: Path, settle, start: str | None,
                                                                       first: str, other: str) -> None:
    app = make_app(runs_dir=tmp_path / "runs", now=None, start=start, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert type(screen).__name__ == first
        keys = {"recipes": ("2", "1"), None: ("1", "2"), "sweeps": ("2", "3")}[start]
        await pilot.press(keys[0])
        await settle(pilot, app)
        assert type(app.screen).__name__ == other
        await pilot.press(keys[1])
        await settle(pilot, app)
        assert app.screen is screen  # the same screen, with its state, not a second one


@pytest.mark.anyio
async def test_starting_on_recipes_reads_the_run_store_meanwhile(tmp_path: Path, fake_runs: SimpleNamespace,
                                                                 until) -> None:
    runs = tmp_path / "runs"
    ids = fake_runs.write_store(runs)
    app = make_app(runs_dir=runs, now=None, start="recipes", refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, app, lambda: app.rows_cache is not None)
        assert app.screen.query_one("OptionList").option_count > 0  # the recipes were read first
        assert sorted(r.id for r in app.rows_cache) == sorted(ids)
        await pilot.press("2")
        assert app.screen.query_one("DataTable").row_count == len(ids)  # at once, from the prefetched rows


@pytest.mark.anyio
async def test_reopen_reattaches_to_a_live_run_with_its_history(tmp_path: Path, fake_runs: SimpleNamespace, until,
                                                                text_of) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_store(runs)
    rd = fake_runs.write_run(runs, "20260921-160000-live", steps=7, live=True, alerts=1)
    fake_runs.write_events(rd, [{"t": 1, "kind": "sample", "step": 7, "prompt": "Say hi", "policy": "Hi!",
                                 "reference": "Hello there, how may I help?"}], mode="a")
    app = make_app(runs_dir=runs, now=None, poll_s=0.05, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, app, lambda: type(app.screen).__name__ == "RunScreen")
        run = app.screen
        # The follower thread fills `summary` after the screen mounts: None until its first read.
        await until(pilot, app, lambda: run.summary is not None and run.summary.step == 7)
        assert run.query("MetricChart").first().points == 7 + 1  # 7 train points and the eval-at-start point
        assert len(run.series.alerts) == 1
        await pilot.press("p")
        assert "Hello there, how may I help?" in text_of(run.query_one("#sample-detail"))


@pytest.mark.anyio
async def test_quit_with_live_runs_says_they_keep_training(tmp_path: Path, fake_runs: SimpleNamespace, settle,
                                                           text_of) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_run(runs, "20260921-160000-live", steps=2, live=True)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("q")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ConfirmScreen"
        message = text_of(app.screen.query_one("#confirm-message"))
        assert "keep training" in message and "20260921-160000-live" in message
        await pilot.press("y")
    assert app.return_value == ["20260921-160000-live"]


@pytest.mark.anyio
async def test_help_and_palette_list_every_action(tmp_path: Path, fake_runs: SimpleNamespace, settle,
                                                  text_of) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_store(runs)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        from tui.commands import ReinsCommands

        provider = ReinsCommands(app.screen)
        names = [name for name, _, _ in provider._commands()]
        for expected in ("Go to Recipes", "Go to Runs", "Compare the selected runs", "Filter runs",
                         "Stop the run under the cursor", "New run from recipe: dpo", "Quit (runs keep training)"):
            assert expected in names
        assert sum(n.startswith("Open run: ") for n in names) == 5
        await pilot.press("question_mark")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "HelpScreen"
        assert "runs keep training" in text_of(app.screen.query_one("#help-text"))


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_app(runs_dir=tmp_path / "runs").no_color

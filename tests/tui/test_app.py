"""Pilot tests of every TUI flow: recipe → form → estimate → launch → live run → alert → compare, plus Runs keys."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_runs import (  # noqa: E402
    alert_event,
    dpo_values,
    metric,
    sample_events,
    write_events,
    write_run,
    write_store,
)

from tui.app import make_app  # noqa: E402


def text_of(widget) -> str:
    """The plain text a widget shows (whether it holds a string, Content or a rich renderable)."""
    import io

    from rich.console import Console

    visual = widget.render()
    if hasattr(visual, "plain"):
        return visual.plain
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(getattr(visual, "_renderable", visual))
    return console.export_text()


async def settle(pilot, app, rounds: int = 3) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(rounds):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    await pilot.pause(0.05)


async def until(pilot, app, predicate, tries: int = 80) -> None:
    """Wait (bounded) until the UI reaches a state; fails the test if it never does."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    assert predicate(), "the UI never reached the expected state"


def fake_launch(runs_dir: Path, calls: list):
    """A stand-in for engine.api.launch that writes a live run directory (this process as its pid)."""

    def launch(recipe, overrides=(), name=None, runs_dir=None, gpu_memory_gib=None):
        from engine import api

        calls.append({"recipe": Path(recipe).name, "overrides": list(overrides), "name": name})
        rd = write_run(Path(runs_dir), "20260921-150000-launched", steps=0, live=True)
        return api.get_run(rd.name, runs_dir)

    return launch


@pytest.mark.anyio
async def test_recipe_to_launch_to_live_to_alert_to_compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    write_store(runs)
    calls: list = []
    monkeypatch.setattr("engine.api.launch", fake_launch(runs, calls))
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
        write_events(rd, [metric(s, dpo_values(s)) for s in (1, 2, 3)], mode="a")
        await until(pilot, app, lambda: run.summary is not None and run.summary.step == 3)
        loss_chart = run.query("MetricChart").first()
        assert loss_chart.points == 3 + 1  # three train points and the eval-at-start point
        assert "step 3/20" in text_of(run.query_one("#run-progress"))
        write_events(rd, [metric(4, dpo_values(4)), {"t": 1, "kind": "system", "step": 4,
                                                       "values": {"s_per_step": 2.0, "tokens_per_s": 100.0}}],
                     mode="a")
        await until(pilot, app, lambda: loss_chart.points == 4 + 1)
        assert "ETA 0:00:32" in text_of(run.query_one("#run-progress"))

        # An alert event appears in the alerts panel and the tab label counts it.
        write_events(rd, [alert_event(4)], mode="a")
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
async def test_runs_filter_sort_select_and_compare_diff(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    ids = write_store(runs)
    write_events(runs / "20260921-110000-dpo-beta03", sample_events(20), mode="a")  # one run was evaluated
    app = make_app(runs_dir=runs, now=None, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("DataTable")
        assert table.row_count == len(ids)
        await pilot.press("slash")
        await pilot.press(*"dpo-beta")
        await settle(pilot, app)
        assert table.row_count == 2
        await pilot.press("enter")  # back to the table, filter kept
        await pilot.press("space", "space")
        assert screen.selected == {"20260921-100000-dpo-beta01", "20260921-110000-dpo-beta03"}
        await pilot.press("escape")
        assert table.row_count == len(ids)
        await pilot.press("s")  # sort by status
        assert [r.status for r in screen.visible_rows()] == sorted(r.status for r in screen.rows)
        await pilot.press("c")
        await until(pilot, app, lambda: type(app.screen).__name__ == "CompareScreen" and app.screen.loaded)
        diff = app.screen.query_one("#compare-diff")
        keys = {str(diff.get_row_at(i)[0]) for i in range(diff.row_count)}
        assert keys == {"method.beta", "train.learning_rate"}  # only what differs
        metrics = app.screen.query_one("#compare-metrics")
        rows = [metrics.get_row_at(i) for i in range(metrics.row_count)]
        alerts_row = next(r for r in rows if r[0] == "alerts")
        assert alerts_row[1:] == ["0", "1"]
        post = {str(r[0]): r[1:] for r in rows}  # the post-training figures, blank for the run without them
        assert post["pair accuracy ref→policy"] == ["", "0.5938 → 0.6562"]
        assert post["win rate (95% CI)"] == ["", "0.50 (0.14–0.86)"]
        assert post["perplexity change"] == ["", "-0.0%"]


@pytest.mark.anyio
async def test_reopen_reattaches_to_a_live_run_with_its_history(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_store(runs)
    rd = write_run(runs, "20260921-160000-live", steps=7, live=True, alerts=1)
    write_events(rd, [{"t": 1, "kind": "sample", "step": 7, "prompt": "Say hi", "policy": "Hi!",
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
async def test_quit_with_live_runs_says_they_keep_training(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, "20260921-160000-live", steps=2, live=True)
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
async def test_help_and_palette_list_every_action(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_store(runs)
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


async def configure_dpo(pilot, app):  # noqa: ANN001, ANN201
    """Open Configure on the bundled DPO recipe and wait for its first VRAM estimate; returns the screen."""
    await settle(pilot, app)
    app.open_configure(Path(__file__).resolve().parents[2] / "recipes" / "dpo.yaml")
    await settle(pilot, app)
    screen = app.screen
    await until(pilot, app, lambda: screen.estimate is not None)
    return screen


@pytest.mark.anyio
async def test_lora_off_and_quantization_become_overrides(tmp_path: Path) -> None:
    from tui.display.form import form_fields, override_text

    app = make_app(runs_dir=tmp_path / "runs", now=None, start="recipes", gpu_memory_gib=8.0, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await configure_dpo(pilot, app)
        trainable = screen.estimate["trainable_params"]
        screen.query_one("#w-lora-enabled").value = False
        await until(pilot, app,
                    lambda: screen.estimate is not None and screen.estimate["trainable_params"] != trainable)
        assert screen.overrides == ["lora=null"]
        assert screen.query_one("#w-lora--r").disabled
        screen.query_one("#w-model--quantization").value = "4bit"
        # Quantization without LoRA is a recipe-level error: shown in the error box, not swallowed.
        await until(pilot, app, lambda: bool(screen.problems))
        assert "quantized" in text_of(screen.query_one("#configure-errors"))
    spec = next(s for s in form_fields(__import__("engine.recipe.loading").recipe.loading.load_recipe("dpo").recipe)
                if s.key == "lora.target_modules")
    assert override_text(spec, "q_proj, v_proj") == '["q_proj", "v_proj"]'


def big_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **constants: int) -> tuple[Path, list[int]]:
    """150 runs, the Runs screen's batching constants patched, and the list every batch size will be recorded in."""
    from tui.widgets.runtable import RunTable

    runs = tmp_path / "runs"
    for i in range(150):
        write_run(runs, f"20260921-{i:06d}-many-{i}", steps=3)
    for name, value in constants.items():
        monkeypatch.setattr(f"tui.screens.runs.{name}", value)

    batches: list[int] = []
    add_batch = RunTable.add_batch

    def counted(table, rows):  # noqa: ANN001, ANN202
        rows = list(rows)
        batches.append(len(rows))
        return add_batch(table, rows)

    monkeypatch.setattr(RunTable, "add_batch", counted)
    return runs, batches


@pytest.mark.anyio
async def test_runs_table_fills_in_chunks_and_updates_changed_rows_in_place(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # 150 rows in batches of 40: four batches, one per paint (the newest-first step is tested on its own)
    runs, batches = big_store(tmp_path, monkeypatch, FILL_CHUNK=40, FIRST_SCREEN=1000)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("DataTable")
        await until(pilot, app, lambda: table.row_count == 150)
        assert batches == [40, 40, 40, 30]
        assert table.virtual_size.height == 150 + 1  # every row and the header: the scrollbar reaches the last run
        # A run gets one more step: its row changes in place, the table is not rebuilt.
        rd = runs / "20260921-000042-many-42"
        write_events(rd, [metric(4, dpo_values(4))], mode="a")
        generation = screen._fill_gen
        await pilot.press("r")
        await until(pilot, app, lambda: screen.shown["20260921-000042-many-42"].sort_step == 4)
        assert screen._fill_gen == generation
        assert str(table.get_cell("20260921-000042-many-42", "step")) == "4/20"


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_app(runs_dir=tmp_path / "runs").no_color


@pytest.mark.anyio
async def test_trust_remote_code_shows_a_warning_in_configure(tmp_path: Path) -> None:
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="recipes", gpu_memory_gib=8.0, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await configure_dpo(pilot, app)
        assert "trust_remote_code" not in text_of(screen.query_one("#configure-errors"))
        screen.query_one("#w-model--trust-remote-code").value = True
        await until(pilot, app, lambda: "model.trust_remote_code=true" in screen.overrides
                    and "trust_remote_code is on" in text_of(screen.query_one("#configure-errors")))
        assert not screen.problems  # a warning, not an error: launching stays possible


@pytest.mark.anyio
async def test_x_axis_cycles_step_epoch_tokens_and_names_runs_without_token_counts(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, "20260921-100000-with-tokens", steps=10, tokens_per_step=600)
    write_run(runs, "20260921-110000-no-tokens", steps=10)
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


@pytest.mark.anyio
async def test_samples_tab_appears_with_samples_and_is_keyboard_navigable(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    rd = write_run(runs, "20260921-160000-live", steps=20, live=True)
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
        write_events(rd, [{"t": 1e9, "kind": "phase", "step": 20, "name": "post-training evaluation",
                           "detail": "3 samples, pairs, perplexity"}], mode="a")
        await until(pilot, app, lambda: "post-training evaluation…" in text_of(run.query_one("#run-progress")))
        # The evaluation writes its samples: the tab appears, counts them, p opens it.
        write_events(rd, sample_events(20), mode="a")
        await until(pilot, app, lambda: len(run.series.samples) == 3)
        await settle(pilot, app)
        assert tabs.get_tab("samples").display and "Samples (3)" in str(tabs.get_tab("samples").label)
        await pilot.press("p")
        assert tabs.active == "samples"
        head = text_of(run.query_one("#samples-eval"))
        assert "pair accuracy 0.5938 → 0.6562" in head and "policy 1 · reference 1 · tie 1" in head
        assert "win rate 50%" in head
        detail = run.query_one("#sample-detail")
        assert "primary colours" in text_of(detail) and "policy wins" in text_of(detail)
        await pilot.press("down")
        assert "haiku" in text_of(detail) and "reference wins" in text_of(detail)
        assert "Rain is water" in text_of(detail) and "garden drinks deep" in text_of(detail)
        # At 80 columns the two answers are stacked; at 120 they sit side by side (see the snapshots).
        assert detail.size.width < 70


@pytest.mark.anyio
async def test_a_big_store_paints_its_newest_runs_first_then_appends_the_rest(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    runs, batches = big_store(tmp_path, monkeypatch, FIRST_SCREEN=50)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("DataTable")
        await until(pilot, app, lambda: table.row_count == 150)
        # 50 newest rows, then the other 100 appended: nothing cleared and added twice.
        assert batches == [50, 100]
        assert [str(table.get_row_at(i)[-1]) for i in range(150)] == [r.id for r in screen.visible_rows()]
        assert "150 runs" in str(screen.query_one("#runs-status").render())

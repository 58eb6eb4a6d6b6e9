"""The Runs screen: filter, sort, select and compare; key settings per run; a big store filled in batches."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.app import make_app


@pytest.mark.anyio
async def test_runs_filter_sort_select_and_compare_diff(tmp_path: Path, fake_runs: SimpleNamespace, settle,
                                                        until) -> None:
    runs = tmp_path / "runs"
    ids = fake_runs.write_store(runs)
    fake_runs.write_events(runs / "20260921-110000-dpo-beta03", fake_runs.sample_events(20), mode="a")  # evaluated
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
async def test_runs_table_shows_and_filters_by_key_settings(tmp_path: Path, fake_runs: SimpleNamespace,
                                                            settle) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_store(runs)
    # Launched before run.json recorded key settings: read from its recipe.yaml.
    fake_runs.write_run(runs, "20260921-150000-old-kto", method="kto", record_settings=False)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("DataTable")
        assert str(table.get_cell("20260921-120000-ipo", "settings")) == "β0.1 ipo lr2e-4 r16"
        assert str(table.get_cell("20260921-150000-old-kto", "settings")).startswith("β0.1 w+1 w−1 lr")
        await pilot.press("slash", *"β0.3")
        await settle(pilot, app)
        assert [r.id for r in screen.visible_rows()] == ["20260921-110000-dpo-beta03"]


def big_store(runs: Path, write_run, monkeypatch: pytest.MonkeyPatch, **constants: int) -> list[int]:  # noqa: ANN001
    """150 runs, the Runs screen's batching constants patched; returns the list every batch size is recorded in."""
    from tui.widgets.runtable import RunTable

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
    return batches


@pytest.mark.anyio
async def test_runs_table_fills_in_chunks_and_updates_changed_rows_in_place(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           fake_runs: SimpleNamespace,
                                                                           until) -> None:
    # 150 rows in batches of 40: four batches, one per paint (the newest-first step is tested on its own)
    runs = tmp_path / "runs"
    batches = big_store(runs, fake_runs.write_run, monkeypatch, FILL_CHUNK=40, FIRST_SCREEN=1000)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("DataTable")
        await until(pilot, app, lambda: table.row_count == 150)
        assert batches == [40, 40, 40, 30]
        assert table.virtual_size.height == 150 + 1  # every row and the header: the scrollbar reaches the last run
        # A run gets one more step: its row changes in place, the table is not rebuilt.
        rd = runs / "20260921-000042-many-42"
        fake_runs.write_events(rd, [fake_runs.metric(4, fake_runs.dpo_values(4))], mode="a")
        generation = screen._fill_gen
        await pilot.press("r")
        await until(pilot, app, lambda: screen.shown["20260921-000042-many-42"].sort_step == 4)
        assert screen._fill_gen == generation
        assert str(table.get_cell("20260921-000042-many-42", "step")) == "4/20"


@pytest.mark.anyio
async def test_runs_rank_by_the_reports_verdict(tmp_path: Path, fake_runs: SimpleNamespace, settle, until) -> None:
    from engine.runs.rundir import RunDir

    runs = tmp_path / "runs"
    ids = fake_runs.write_store(runs)
    RunDir(runs / ids[0]).update(verdict="don't keep", headline={"metric": "win rate", "value": 0.3, "low": 0.2})
    RunDir(runs / ids[1]).update(verdict="keep", headline={"metric": "win rate", "value": 0.71, "low": 0.55})
    app = make_app(runs_dir=runs, now=None, refresh_s=60)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        for _ in range(8):  # `s` cycles through the sort orders
            if "sorted by verdict" in str(screen.query_one("#runs-status").render()):
                break
            await pilot.press("s")
            await settle(pilot, app)
        order = [r.id for r in screen.visible_rows()]
        assert order[0] == ids[1] and order[1] == ids[0]  # keep, then don't keep, then runs without a report
        table = screen.query_one("DataTable")
        assert str(table.get_cell(ids[1], "verdict")) == "keep .71"
        assert str(table.get_cell(ids[0], "verdict")) == "drop .30"


@pytest.mark.anyio
async def test_queued_runs_show_their_place_move_up_and_leave_the_queue(tmp_path: Path, fake_runs: SimpleNamespace,
                                                                       settle, until) -> None:
    import json

    from engine.runs.rundir import RunDir

    runs = tmp_path / "runs"
    fake_runs.write_run(runs, "20260921-100000-live", live=True, steps=4)
    RunDir(runs / "20260921-100000-live").update(devices=[0, 1])
    ids = [f"20260921-11000{i}-queued-{c}" for i, c in enumerate("abc")]
    for i, run_id in enumerate(ids):
        fake_runs.write_queued(runs, run_id, seq=fake_runs.T0 + i)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    notes: list[str] = []
    notify = app.notify
    app.notify = lambda message, **kw: notes.append(str(message)) or notify(message, **kw)  # type: ignore[method-assign]
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("DataTable")
        assert [str(table.get_cell(i, "status")) for i in ids] == ["queued #1", "queued #2", "queued #3"]
        assert str(table.get_cell("20260921-100000-live", "gpus")) == "0,1"

        table.move_cursor(row=table.get_row_index(ids[2]))
        await pilot.press("plus")  # c passes b
        await until(pilot, app, lambda: str(table.get_cell(ids[2], "status")) == "queued #2")
        assert str(table.get_cell(ids[1], "status")) == "queued #3"
        seq = {i: json.loads((runs / i / "run.json").read_text())["queue"]["seq"] for i in ids}
        assert seq[ids[0]] < seq[ids[2]] < seq[ids[1]]  # the order is on disk: the scheduler sees it too
        assert notes[-1] == f"Moved {ids[2]} up: now #2 in the queue."

        table.move_cursor(row=table.get_row_index(ids[0]))
        await pilot.press("d")
        await until(pilot, app, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, app, lambda: str(table.get_cell(ids[0], "status")) == "stopped")
        assert [str(table.get_cell(i, "status")) for i in ids[1:]] == ["queued #2", "queued #1"]
        assert json.loads((runs / ids[0] / "run.json").read_text())["status"] == "stopped"
        assert notes[-1] == f"Cancelled {ids[0]}: it has left the queue."

        table.move_cursor(row=table.get_row_index("20260921-100000-live"))
        await pilot.press("plus")  # not queued: a warning, nothing changes
        await settle(pilot, app)
        assert str(table.get_cell("20260921-100000-live", "status")) == "running"

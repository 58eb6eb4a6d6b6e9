"""Pilot tests of stopping and resuming a run from the TUI: confirm → engine call → the open screens follow the run;
refusals are said, not raised."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.app import make_app

RUN = "20260921-120000-stopped"


def stopped_run_with_checkpoint(write_run, runs: Path) -> Path:  # noqa: ANN001
    """A run stopped at step 12 whose newest checkpoint is step 10 (steps 11-12 are logged again on resume)."""
    rd = write_run(runs, RUN, status="stopped", steps=12)
    ckpt = rd / "checkpoints" / "checkpoint-10"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": 10, "max_steps": 20}))
    (rd / "accelerate_config.yaml").write_text("{}\n")  # written at launch; resume reuses it
    return rd


def fake_start_worker(calls: list):  # noqa: ANN201
    """Stands in for the launcher's process start: records this test process as the new attempt's pid."""

    def start_worker(rd, cmd, devices=None, cwd=None):  # noqa: ANN001, ANN202
        from engine.runs.process import process_start_ticks

        calls.append(cmd)
        rd.update(status="starting", pid=os.getpid(), pid_start=process_start_ticks(os.getpid()))
        return os.getpid()

    return start_worker


def capture_notes(app) -> list[str]:  # noqa: ANN001
    notes: list[str] = []
    notify = app.notify

    def note(message, **kwargs):  # noqa: ANN001, ANN003, ANN202
        notes.append(str(message))
        return notify(message, **kwargs)

    app.notify = note
    return notes


@pytest.mark.anyio
async def test_resume_from_the_run_screen_continues_the_same_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 fake_runs: SimpleNamespace, settle, until,
                                                                 text_of) -> None:
    runs = tmp_path / "runs"
    rd = stopped_run_with_checkpoint(fake_runs.write_run, runs)
    calls: list = []
    monkeypatch.setattr("engine.launching.launcher.start_worker", fake_start_worker(calls))
    app = make_app(runs_dir=runs, now=None, start="runs", poll_s=0.05, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = capture_notes(app)
        await settle(pilot, app)
        app.open_run(RUN)
        run = app.screen
        await until(pilot, app, lambda: run.summary is not None and run.summary.step == 12)
        assert run.status == "stopped"
        assert run.series.get("train", "loss")[0][-1] == 12.0

        await pilot.press("u")
        await until(pilot, app, lambda: type(app.screen).__name__ == "ConfirmScreen")
        message = text_of(app.screen.query_one("#confirm-message"))
        assert "checkpoint-10 at step 10" in message and "attempt 2" in message
        await pilot.press("y")
        await until(pilot, app, lambda: bool(calls))
        await until(pilot, app, lambda: app.screen is run and run.status == "starting")
        record = json.loads((rd / "run.json").read_text())
        assert record["attempt"] == 2 and record["resume_from"] == "checkpoints/checkpoint-10"
        assert [a["status"] for a in record["attempts"]] == ["stopped"]
        assert any(f"Resumed {RUN} as attempt 2" in n for n in notes)

        # The new attempt logs from step 11 again: the charts continue from the checkpoint, no step twice.
        fake_runs.write_events(rd, [{"t": fake_runs.T0 + 100, "kind": "status", "status": "running", "max_steps": 20},
                                    *(fake_runs.metric(s, fake_runs.dpo_values(s)) for s in (11, 12, 13))], mode="a")
        await until(pilot, app, lambda: run.summary.step == 13)
        steps = run.series.get("train", "loss")[0]
        assert steps == [float(s) for s in range(1, 14)]
        assert run.status == "running"
        assert "step 13/20" in text_of(run.query_one("#run-progress"))


@pytest.mark.anyio
@pytest.mark.parametrize(("kwargs", "reason"), [
    (dict(status="completed"), "already completed"),
    (dict(method="ppo", status="stopped"), "PPO"),
    (dict(status="stopped"), "no checkpoint"),
    (dict(live=True), "still running"),
])
async def test_resume_refusals_are_said_on_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict,
                                                  reason: str, fake_runs: SimpleNamespace, settle, until) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_run(runs, RUN, **kwargs)
    calls: list = []
    monkeypatch.setattr("engine.launching.launcher.start_worker", fake_start_worker(calls))
    app = make_app(runs_dir=runs, now=None, start="runs", poll_s=0.05, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = capture_notes(app)
        await until(pilot, app, lambda: app.screen.query_one("DataTable").row_count == 1)
        if type(app.screen).__name__ != "RunsScreen":  # a live run is reattached: go back to the table
            await pilot.press("escape")
        await pilot.press("u")  # on the Runs table, the run under the cursor
        await settle(pilot, app)
        assert type(app.screen).__name__ == "RunsScreen"  # no confirmation for a run that cannot be resumed
        assert any(reason in n for n in notes), notes
    assert calls == []


@pytest.mark.anyio
async def test_stop_asks_then_sends_the_stop_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     fake_runs: SimpleNamespace, settle, until, text_of) -> None:
    runs = tmp_path / "runs"
    fake_runs.write_run(runs, "20260921-160000-live", steps=3, live=True)
    fake_runs.write_run(runs, "20260921-100000-done", steps=3)
    stops: list = []
    monkeypatch.setattr("engine.api.stop_run", lambda run_id, runs_dir, wait_s: stops.append((run_id, wait_s)))
    app = make_app(runs_dir=runs, now=None, start="runs", poll_s=0.05, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = capture_notes(app)
        await until(pilot, app, lambda: app.screen.query_one("DataTable").row_count == 2)
        table = app.screen.query_one("DataTable")
        table.move_cursor(row=table.get_row_index("20260921-100000-done"))
        await pilot.press("x")  # an ended run: said, nothing asked
        await settle(pilot, app)
        assert type(app.screen).__name__ == "RunsScreen" and "not running" in notes[-1]

        table.move_cursor(row=table.get_row_index("20260921-160000-live"))
        await pilot.press("x")
        await until(pilot, app, lambda: type(app.screen).__name__ == "ConfirmScreen")
        assert "20260921-160000-live" in text_of(app.screen.query_one("#confirm-message"))
        await pilot.press("n")  # no: nothing sent
        await settle(pilot, app)
        assert stops == []
        await pilot.press("x", "y")
        await until(pilot, app, lambda: bool(stops))
        assert stops == [("20260921-160000-live", 0)]
        await until(pilot, app, lambda: any("Stop requested" in n for n in notes))

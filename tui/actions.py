"""What the user can do to a run from any screen: stop it or resume it, each after a confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App


def confirm_stop(app: App[Any], run_id: str) -> None:
    """Ask, then send the stop request (SIGTERM: the worker saves a checkpoint and ends `stopped`)."""
    from tui.screens.dialogs import ConfirmScreen

    def done(ok: bool | None) -> None:
        if ok:
            _send_stop(app, run_id)

    app.push_screen(ConfirmScreen("Stop this run?", f"{run_id}\n\nThe worker saves a checkpoint and ends as "
                                  "`stopped` (resume later from the checkpoint).", yes="Stop it"), done)


def _send_stop(app: App[Any], run_id: str) -> None:
    from engine import api

    def stop() -> None:
        try:
            api.stop_run(run_id, app.settings.runs_dir, wait_s=0)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            app.call_from_thread(app.notify, f"Could not stop {run_id}: {exc}", severity="error")
            return
        app.call_from_thread(app.notify, f"Stop requested: {run_id} is saving a checkpoint.")

    app.run_worker(stop, thread=True, group="stop")


def confirm_resume(app: App[Any], run_id: str, resumed: Callable[[str], None] | None = None) -> None:
    """Say what resuming `run_id` would do and ask; a run that cannot be resumed (still running, completed, PPO, no
    checkpoint) gets the engine's reason instead. `resumed(run_id)` is called on the UI thread once the new attempt's
    process is recorded in run.json."""
    from engine import api
    from engine.errors import ReinsError
    from tui.screens.dialogs import ConfirmScreen

    runs_dir = app.settings.runs_dir  # type: ignore[attr-defined]
    try:
        plan = api.plan_resume(run_id, runs_dir)  # reads run.json and one trainer_state.json: quick
    except ReinsError as exc:
        app.notify(str(exc), title="Cannot resume", severity="warning", timeout=12)
        return

    def done(ok: bool | None) -> None:
        if ok:
            app.run_worker(lambda: _resume(app, plan.run_id, plan.attempt, resumed), thread=True, group="resume")

    app.push_screen(ConfirmScreen("Resume this run?", plan.describe(), yes="Resume"), done)


def _resume(app: App[Any], run_id: str, attempt: int, resumed: Callable[[str], None] | None) -> None:
    from engine import api

    try:
        api.resume_run(run_id, app.settings.runs_dir)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
        app.call_from_thread(app.notify, f"Could not resume {run_id}: {exc}", title="Resume failed",
                             severity="error", timeout=12)
        return
    app.call_from_thread(app.notify, f"Resumed {run_id} as attempt {attempt}.")
    if resumed is not None:
        app.call_from_thread(resumed, run_id)

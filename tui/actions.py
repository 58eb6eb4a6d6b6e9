"""What the user can do to a run from any screen: stop it or resume it, each after a confirmation; mark a sample;
move a queued run up or take it out of the queue; stop a sweep."""

from __future__ import annotations

from collections import deque
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


def move_up(app: App[Any], run_id: str, done: Callable[[], None] | None = None) -> None:
    """Move a queued run one place up the queue (engine.api.prioritize), off the UI thread; says where it is now.
    `done()` runs on the UI thread afterwards, also after a failure (which is shown)."""
    from engine import api

    runs_dir = app.settings.runs_dir  # type: ignore[attr-defined]

    def call() -> None:
        try:
            api.prioritize(run_id, up=True, runs_dir=runs_dir)
            place = next((r.position for r in api.queue_status(runs_dir).queued if r.view.id == run_id), None)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            app.call_from_thread(app.notify, f"Could not move {run_id}: {exc}", title="Not moved",
                                 severity="warning", timeout=10)
        else:
            where = f"now #{place} in the queue" if place else "it has left the queue"
            app.call_from_thread(app.notify, f"Moved {run_id} up: {where}.")
        if done is not None:
            app.call_from_thread(done)

    app.run_worker(call, thread=True, group="queue-order")


def confirm_cancel_queued(app: App[Any], run_id: str, done: Callable[[], None] | None = None) -> None:
    """Ask, then take a queued run out of the queue (engine.api.cancel_queued: it ends `stopped`, never started).
    `done()` runs on the UI thread once the run has left the queue (or could not)."""
    from tui.screens.dialogs import ConfirmScreen

    def answered(ok: bool | None) -> None:
        if ok:
            app.run_worker(lambda: _cancel_queued(app, run_id, done), thread=True, group="queue-cancel")

    app.push_screen(ConfirmScreen("Take this run out of the queue?", f"{run_id}\n\nIt ends `stopped` without "
                                  "ever starting.", yes="Cancel it", no="Keep it queued"), answered)


def _cancel_queued(app: App[Any], run_id: str, done: Callable[[], None] | None) -> None:
    from engine import api

    try:
        api.cancel_queued(run_id, app.settings.runs_dir)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
        app.call_from_thread(app.notify, f"Could not cancel {run_id}: {exc}", title="Not cancelled",
                             severity="warning", timeout=10)
    else:
        app.call_from_thread(app.notify, f"Cancelled {run_id}: it has left the queue.")
    if done is not None:
        app.call_from_thread(done)


def confirm_stop_sweep(app: App[Any], sweep_id: str, done: Callable[[], None] | None = None) -> None:
    """Ask, then stop a sweep (engine.api.stop_sweep): its queued members leave the queue, its running ones save a
    checkpoint and end `stopped`."""
    from tui.screens.dialogs import ConfirmScreen

    def stop() -> None:
        from engine import api

        try:
            api.stop_sweep(sweep_id, app.settings.runs_dir)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            app.call_from_thread(app.notify, f"Could not stop sweep {sweep_id}: {exc}", severity="error")
        else:
            app.call_from_thread(app.notify, f"Stopping sweep {sweep_id}: queued members cancelled, running ones "
                                 "save a checkpoint.")
        if done is not None:
            app.call_from_thread(done)

    def answered(ok: bool | None) -> None:
        if ok:
            app.run_worker(stop, thread=True, group="sweep-stop")

    app.push_screen(ConfirmScreen("Stop this sweep?", f"{sweep_id}\n\nIts queued members leave the queue; its "
                                  "running members save a checkpoint and end `stopped`.", yes="Stop it"), answered)


class InOrder:
    """Calls made off the UI thread one at a time, in the order they were asked for: two quick marks on one sample
    must reach the journal in the order the keys were pressed (the later one wins). Submit from the UI thread."""

    def __init__(self, app: App[Any], group: str) -> None:
        self.app, self.group = app, group
        self.queue: deque[Callable[[], None]] = deque()
        self.busy = False  # touched on the UI thread only

    def submit(self, call: Callable[[], None]) -> None:
        self.queue.append(call)
        if not self.busy:
            self.busy = True
            self.app.run_worker(self._drain, thread=True, group=self.group)

    def _drain(self) -> None:
        while self.queue:
            self.queue.popleft()()
        self.app.call_from_thread(self._idle)

    def _idle(self) -> None:
        self.busy = False
        if self.queue:  # submitted after the worker found the queue empty, before it said so
            self.busy = True
            self.app.run_worker(self._drain, thread=True, group=self.group)


def mark_sample(app: App[Any], order: InOrder, run_id: str, index: int, winner: str,
                then: Callable[[], None]) -> None:
    """Record a person's mark on sample `index` (winner: policy, reference, tie or skip) through engine.api, off the
    UI thread and in order; `then()` runs on that thread afterwards, also after a failure (which is shown)."""
    from engine import api

    def call() -> None:
        try:
            marks = api.annotate_sample(run_id, index, winner, runs_dir=app.settings.runs_dir)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            app.call_from_thread(app.notify, f"Could not record the mark on #{index + 1}: {exc}",
                                 title="Mark not saved", severity="error", timeout=12)
        else:
            if marks.report_error:
                app.call_from_thread(app.notify, f"The mark is saved; report.md was not rewritten: "
                                     f"{marks.report_error}", title="Report not updated", severity="warning")
        then()

    order.submit(call)

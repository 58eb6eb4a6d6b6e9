"""Following one run to its end: read only the events added since the last poll, until a terminal status."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from engine.runs import events as ev
from engine.runs.events import TERMINAL_STATUSES, Summary
from engine.runs.process import record_alive
from engine.runs.rundir import RunDir
from engine.runs.store import RunView

OnEvents = Callable[[list[dict[str, Any]], RunView], None]


def follow_run(rd: RunDir, timeout_s: float | None = None, poll_s: float = 0.5,
               on_events: OnEvents | None = None) -> RunView:
    """Follow the run in `rd` until it reaches a terminal status (or the timeout), calling `on_events(new_events,
    view)` for each batch; returns the run as it is then."""
    summary = Summary()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def poll() -> bool:
        chunk = ev.read_from(rd.events, summary.offset)
        summary.update(chunk)
        if chunk.events and on_events:
            on_events(chunk.events, RunView(rd, rd.read(), summary))
        return bool(chunk.events)

    while True:
        got = poll()
        view = RunView(rd, rd.read(), summary)
        if view.status in TERMINAL_STATUSES:
            if view.status == "completed":
                wait_for_report(rd)
            poll()  # the worker may have written its last event just before its process ended
            return RunView(rd, rd.read(), summary)
        if deadline is not None and time.monotonic() > deadline:
            return view
        if not got:
            time.sleep(poll_s)


def wait_for_report(rd: RunDir, grace_s: float = 120.0, poll_s: float = 0.2) -> None:
    """A worker records `completed` and then writes the report, which puts the verdict and the headline in run.json:
    wait for its processes to exit (at most `grace_s`), so whoever reads the verdict next sees it. Runs on another
    host (multi-node, shared storage) cannot be watched from here and are not waited for."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        record = rd.read()
        if record.get("host") not in (None, socket.gethostname()) or not record_alive(record):
            return
        time.sleep(poll_s)

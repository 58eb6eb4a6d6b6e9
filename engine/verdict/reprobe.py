"""`reins report RUN --probes`: run the capability probes (and lm-eval, when configured) again on a finished run's
saved output, in a worker process, and record them as a new `evaluation` event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.runs.events import TERMINAL_STATUSES, EventWriter, read_all
from engine.runs.rundir import RunDir
from engine.verdict.healthcheck import recipe_of
from engine.verdict.report import ReportError
from engine.verdict.worker_call import call_worker

WORKER_MODULE = "engine.worker.reprobe"
FAILURE_PREFIX = "[reins] capability probes failed: "  # the worker's last word on what went wrong
PARTS = ("probes", "lm_eval")


def reprobe(run_dir: Path) -> dict[str, Any]:
    """Probe the run's base model (reference) and its `final/` output (policy) and append an `evaluation` event
    with the new results, the other figures copied from the last one (the log stays append-only; the report reads
    the latest). Returns the new values of the probed parts and their `errors`.

    What a user can get wrong is checked here first (exit 2); the models load in a worker process, so this one never
    imports torch."""
    rd = RunDir(run_dir)
    events = read_all(rd.events)
    statuses = [e.get("status") for e in events if e.get("kind") == "status"]
    if not statuses or statuses[-1] not in TERMINAL_STATUSES:
        raise ReportError(f"{rd.id} has not finished (status {statuses[-1] if statuses else 'unknown'}): "
                          "probe it once it has ended.")
    if not rd.final.is_dir():
        raise ReportError(f"{rd.id} saved no trained model ({rd.final} is missing: it did not complete): there is "
                          "nothing to probe.")
    if recipe_of(rd.path) is None:
        raise ReportError(f"{rd.id} has no readable {rd.recipe.name}: cannot tell how to load its models.")
    measured = call_worker(WORKER_MODULE, {"run_dir": str(rd.path)}, rd.reprobe_log, FAILURE_PREFIX,
                           "The capability probes' process")
    evaluations = [e for e in events if e.get("kind") == "evaluation"]
    last = evaluations[-1] if evaluations else {}
    step = last.get("step") if last else next((e.get("summary", {}).get("steps") for e in reversed(events)
                                               if e.get("kind") == "status" and e.get("summary")), None)
    values = {k: v for k, v in (last.get("values") or {}).items() if k not in PARTS}
    errors = {k: v for k, v in (values.pop("errors", None) or {}).items() if k not in PARTS}
    values.update({k: measured[k] for k in PARTS if k in measured})
    errors.update(measured.get("errors") or {})
    if errors:
        values["errors"] = errors
    with EventWriter(rd.events) as writer:
        writer.write("evaluation", step=step, values=values)
    return {k: measured[k] for k in (*PARTS, "errors") if measured.get(k)}

"""`reins health`: re-evaluate the red-flag rules over a Reins run, an events file, or a TRL `trainer_state.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ReinsError
from engine.paths import runs_dir as default_runs_dir
from engine.recipe.methods import METHODS
from engine.recipe.schema import Recipe
from engine.runs.rundir import RunDir, checkpoint_state
from engine.runs.store import RunStore
from engine.verdict.foreign import HealthInputError, foreign_monitor, log_history_to_events
from engine.verdict.history import Alert
from engine.verdict.monitor import Monitor


@dataclass
class HealthResult:
    """What the rules found in one run's history."""

    source: str
    kind: str  # "reins-run" | "reins-events" | "trl-trainer-state" | "trl-log-history"
    metric_events: int
    alerts: list[Alert] = field(default_factory=list)
    assumed: str = ""  # what a log from another tool did not say and was assumed (method, β), for the reader

    @property
    def errors(self) -> int:
        return sum(a.severity == "error" for a in self.alerts)

    @property
    def exit_code(self) -> int:
        """1 if any error-severity alert, else 0 (bad input never gets this far: it raises, exit 2)."""
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "metric_events": self.metric_events,
                "assumed": self.assumed, "errors": self.errors, "warnings": len(self.alerts) - self.errors,
                "alerts": [a.to_event() for a in self.alerts]}


def monitor_for(recipe: Recipe | None, max_steps: int | None = None) -> Monitor:
    """A monitor set up from a recipe: thresholds, method, beta and the sequences per optimiser step."""
    if recipe is None:
        return Monitor(max_steps=max_steps)
    method = recipe.method.name
    pairs = recipe.train.batch_size * recipe.train.grad_accum * recipe.distributed.num_processes
    seqs = pairs * (2 if METHODS[method].preference else 1)
    return Monitor(recipe.alerts, method=method, max_steps=max_steps or recipe.train.max_steps,
                   sequences_per_step=seqs, beta=getattr(recipe.method, "beta", None))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise HealthInputError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise HealthInputError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); give a Reins run, its "
                               "events.jsonl, or a TRL trainer_state.json.") from None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise HealthInputError(f"cannot read {path}: {exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if n == len(lines):
                continue  # a torn last line (a run killed mid-write)
            raise HealthInputError(f"{path} line {n} is not JSON; expected one event or log entry per line.") from None
        if isinstance(row, dict):
            rows.append(row)
    return rows


def recipe_of(run_dir: Path) -> Recipe | None:
    """The resolved recipe a run folder holds, or None when it has none that validates."""
    from engine.recipe.loading import read_yaml, validate

    path = RunDir(run_dir).recipe
    try:
        return validate(read_yaml(path), source=path)
    except (ReinsError, OSError):
        return None  # an old or foreign run: judge with default thresholds


def _finish(source: Path | str, kind: str, events: list[dict[str, Any]], monitor: Monitor,
            assumed: str = "") -> HealthResult:
    metrics = [e for e in events if e.get("kind") == "metric"]
    if not metrics:
        raise HealthInputError(f"{source} holds no metric history to judge (no metric events or log_history "
                               "entries with numbers).")
    monitor.feed(events)  # event by event, as the worker's monitor would have: the same alerts at the same steps
    return HealthResult(str(source), kind, len(metrics), list(monitor.alerts), assumed)


def check_trainer_state(path: Path, data: Any, method: str | None = None, beta: float | None = None) -> HealthResult:
    """A TRL `trainer_state.json` (an object with `log_history`) or a bare list of log_history dicts; the method and
    β are taken from the caller, else inferred from the keys."""
    if isinstance(data, dict):
        if not isinstance(data.get("log_history"), list):
            raise HealthInputError(f"{path} is a JSON object without a `log_history` list: not a TRL "
                                   "trainer_state.json.")
        events = log_history_to_events(data["log_history"])
        monitor, assumed = foreign_monitor(events, data.get("max_steps") or None, data.get("train_batch_size"),
                                           method, beta)
        return _finish(path, "trl-trainer-state", events, monitor, assumed)
    if isinstance(data, list):
        events = log_history_to_events(data)
        return _finish(path, "trl-log-history", events, *foreign_monitor(events, method=method, beta=beta))
    raise HealthInputError(f"{path} holds a JSON {type(data).__name__}; expected a trainer_state.json object or a "
                           "list of log_history entries.")


def check_events_file(path: Path, recipe: Recipe | None = None, kind: str = "reins-events",
                      method: str | None = None, beta: float | None = None) -> HealthResult:
    """A Reins `events.jsonl` (judged with its run's recipe when there is one), or a JSONL file of TRL log_history
    entries (one dict per line)."""
    rows = _read_jsonl(path)
    if rows and all("kind" not in r for r in rows):
        events = log_history_to_events(rows)
        return _finish(path, "trl-log-history", events, *foreign_monitor(events, method=method, beta=beta))
    max_steps = next((r.get("max_steps") for r in rows if r.get("kind") == "status" and r.get("max_steps")), None)
    if recipe is None:
        return _finish(path, kind, rows, *foreign_monitor(rows, max_steps, method=method, beta=beta))
    return _finish(path, kind, rows, monitor_for(recipe, max_steps))


def check(target: str, runs_dir: Path | str | None = None, method: str | None = None,
          beta: float | None = None) -> HealthResult:
    """Judge a run id/prefix/name, a run directory, an events file, or a TRL trainer_state.json / log_history.
    `method` and `beta` say what a log without a recipe does not (otherwise inferred from its keys)."""
    path = Path(target)
    if path.is_dir():
        rd, state = RunDir(path), checkpoint_state(path)  # a Reins run, or a TRL output/checkpoint folder
        if rd.events.is_file():
            return check_events_file(rd.events, recipe_of(path), "reins-run", method, beta)
        if state.is_file():
            return check_trainer_state(state, _read_json(state), method, beta)
        raise HealthInputError(f"{path} is a folder without {rd.events.name} or {state.name}.")
    if path.is_file():
        if path.suffix == ".jsonl":
            recipe = recipe_of(path.parent) if RunDir(path.parent).recipe.is_file() else None
            return check_events_file(path, recipe, method=method, beta=beta)
        return check_trainer_state(path, _read_json(path), method, beta)
    try:
        view = RunStore(default_runs_dir(runs_dir)).get(target)
    except ReinsError:
        raise HealthInputError(f"{target!r} is neither a file, a folder, nor a run in the store; give a run id, a "
                               "run directory, an events.jsonl, or a TRL trainer_state.json.") from None
    return check_events_file(view.dir.events, recipe_of(view.dir.path), "reins-run", method, beta)

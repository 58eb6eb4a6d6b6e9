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
from engine.verdict.history import Alert, as_float
from engine.verdict.monitor import Monitor

# Totals the HF Trainer logs once at the end: not curves.
TRL_TOTAL_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos",
                  "train_tokens_per_second", "runtime", "samples_per_second", "steps_per_second"}


class HealthInputError(ReinsError):
    """The file or run given to `reins health` cannot be read as metric history."""


@dataclass
class HealthResult:
    """What the rules found in one run's history."""

    source: str
    kind: str  # "reins-run" | "reins-events" | "trl-trainer-state" | "trl-log-history"
    metric_events: int
    alerts: list[Alert] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(a.severity == "error" for a in self.alerts)

    @property
    def exit_code(self) -> int:
        """1 if any error-severity alert, else 0 (bad input never gets this far: it raises, exit 2)."""
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "metric_events": self.metric_events,
                "errors": self.errors, "warnings": len(self.alerts) - self.errors,
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


def log_history_to_events(log_history: list[Any]) -> list[dict[str, Any]]:
    """TRL/transformers `log_history` dicts → Reins metric events (train and eval splits, TRL's own keys)."""
    events: list[dict[str, Any]] = []
    for i, entry in enumerate(log_history):
        if not isinstance(entry, dict):
            raise HealthInputError(f"log_history entry {i} is not an object (got {type(entry).__name__}).")
        step = entry.get("step", 0)
        train: dict[str, Any] = {}
        evals: dict[str, Any] = {}
        for key, value in entry.items():
            if key in ("step", "epoch") or as_float(value) is None:
                continue  # text, lists, booleans: not a curve
            if key.startswith("eval_"):
                if key[5:] not in TRL_TOTAL_KEYS:
                    evals[key[5:]] = value
            elif key not in TRL_TOTAL_KEYS:
                train[key] = value
        for split, values in (("train", train), ("eval", evals)):
            if values:
                events.append({"kind": "metric", "step": step, "epoch": entry.get("epoch"), "split": split,
                               "values": values})
    return events


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


def _finish(source: Path | str, kind: str, events: list[dict[str, Any]], monitor: Monitor) -> HealthResult:
    metrics = [e for e in events if e.get("kind") == "metric"]
    if not metrics:
        raise HealthInputError(f"{source} holds no metric history to judge (no metric events or log_history "
                               "entries with numbers).")
    monitor.feed(events)
    return HealthResult(str(source), kind, len(metrics), list(monitor.alerts))


def check_trainer_state(path: Path, data: Any) -> HealthResult:
    """A TRL `trainer_state.json` (an object with `log_history`) or a bare list of log_history dicts."""
    if isinstance(data, dict):
        if not isinstance(data.get("log_history"), list):
            raise HealthInputError(f"{path} is a JSON object without a `log_history` list: not a TRL "
                                   "trainer_state.json.")
        events = log_history_to_events(data["log_history"])
        monitor = Monitor(max_steps=data.get("max_steps") or None)
        batch = data.get("train_batch_size")
        monitor.history.sequences_per_step = None if not batch else int(batch) * (
            2 if any("rewards/margins" in e["values"] for e in events) else 1)
        return _finish(path, "trl-trainer-state", events, monitor)
    if isinstance(data, list):
        return _finish(path, "trl-log-history", log_history_to_events(data), Monitor())
    raise HealthInputError(f"{path} holds a JSON {type(data).__name__}; expected a trainer_state.json object or a "
                           "list of log_history entries.")


def check_events_file(path: Path, recipe: Recipe | None = None, kind: str = "reins-events") -> HealthResult:
    """A Reins `events.jsonl`, or a JSONL file of TRL log_history entries (one dict per line)."""
    rows = _read_jsonl(path)
    if rows and all("kind" not in r for r in rows):
        return _finish(path, "trl-log-history", log_history_to_events(rows), Monitor())
    max_steps = next((r.get("max_steps") for r in rows if r.get("kind") == "status" and r.get("max_steps")), None)
    return _finish(path, kind, rows, monitor_for(recipe, max_steps))


def check(target: str, runs_dir: Path | str | None = None) -> HealthResult:
    """Judge a run id/prefix/name, a run directory, an events file, or a TRL trainer_state.json / log_history."""
    path = Path(target)
    if path.is_dir():
        rd, state = RunDir(path), checkpoint_state(path)  # a Reins run, or a TRL output/checkpoint folder
        if rd.events.is_file():
            return check_events_file(rd.events, recipe_of(path), "reins-run")
        if state.is_file():
            return check_trainer_state(state, _read_json(state))
        raise HealthInputError(f"{path} is a folder without {rd.events.name} or {state.name}.")
    if path.is_file():
        if path.suffix == ".jsonl":
            recipe = recipe_of(path.parent) if RunDir(path.parent).recipe.is_file() else None
            return check_events_file(path, recipe)
        return check_trainer_state(path, _read_json(path))
    try:
        view = RunStore(default_runs_dir(runs_dir)).get(target)
    except ReinsError:
        raise HealthInputError(f"{target!r} is neither a file, a folder, nor a run in the store; give a run id, a "
                               "run directory, an events.jsonl, or a TRL trainer_state.json.") from None
    return check_events_file(view.dir.events, recipe_of(view.dir.path), "reins-run")


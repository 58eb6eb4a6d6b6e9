"""The Python API that the CLI and the TUI both call: one function per user action."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.estimate.memory import Estimate, architecture_config, detect_gpu_memory_gib
from engine.estimate.memory import estimate as _estimate
from engine.launching.launcher import launch, prepare
from engine.paths import runs_dir as _runs_dir
from engine.recipe.loading import LoadedRecipe, RecipeInfo, bundled_recipes, load_recipe
from engine.runs import events as ev
from engine.runs.events import TERMINAL_STATUSES, Summary
from engine.runs.process import signal_run
from engine.runs.store import RunStore, RunView

__all__ = [
    "launch", "list_recipes", "validate_recipe", "estimate_recipe", "list_runs", "get_run", "stop_run",
    "wait_for", "plan_resume", "resume_run", "RunView", "Estimate",
]


def list_recipes() -> list[RecipeInfo]:
    """The bundled recipes, with a one-line description each."""
    return bundled_recipes()


def validate_recipe(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (),
                    check_files: bool = True) -> LoadedRecipe:
    """Load and validate a recipe (and, by default, its model reference and data). Raises ReinsError."""
    if check_files:
        return prepare(recipe, overrides)[0]
    return load_recipe(recipe, overrides)


def estimate_recipe(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (),
                    gpu_memory_gib: float | None = None, model: str | None = None, **options: Any) -> Estimate:
    """The VRAM estimate for a recipe, against `gpu_memory_gib` or the detected GPU.

    `model` replaces the recipe's model for the estimate (a catalogue name such as `llama-3.1-8b`, a folder or a
    cached hub id); `options` are estimate settings the recipe has no field for (liger, gpus, strategy, …)."""
    loaded = load_recipe(recipe, overrides)
    config = architecture_config(model or loaded.recipe.model.name)
    return _estimate(loaded.recipe, config, gpu_memory_gib or detect_gpu_memory_gib(), **options)


def store(runs_dir: Path | str | None = None) -> RunStore:
    return RunStore(_runs_dir(runs_dir))


def list_runs(runs_dir: Path | str | None = None) -> list[RunView]:
    """Every run in the store, newest first."""
    return store(runs_dir).refresh()


def get_run(ref: str, runs_dir: Path | str | None = None) -> RunView:
    """One run by id, id prefix, name, or `latest`. Raises RunNotFoundError."""
    return store(runs_dir).get(ref)


def stop_run(ref: str, runs_dir: Path | str | None = None, wait_s: float = 120.0) -> RunView:
    """Ask a run to stop (SIGTERM: the worker saves a checkpoint and ends `stopped`); wait up to `wait_s`."""
    run = get_run(ref, runs_dir)
    if run.status in TERMINAL_STATUSES:
        return run
    # The launcher leads the run's process group: signalling the group reaches the worker under it, also while the
    # worker is still loading and has not recorded its own pid.
    signal_run(run.record, signal.SIGTERM)
    return wait_for(run.id, runs_dir, timeout_s=wait_s)


def wait_for(ref: str, runs_dir: Path | str | None = None, timeout_s: float | None = None, poll_s: float = 0.5,
             on_events: Callable[[list[dict[str, Any]], RunView], None] | None = None) -> RunView:
    """Follow a run's events until it reaches a terminal status (or the timeout), calling
    `on_events(new_events, view)` for each batch. Reads only the bytes added since the last poll."""
    rd = get_run(ref, runs_dir).dir
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
            poll()  # the worker may have written its last event just before its process ended
            return RunView(rd, rd.read(), summary)
        if deadline is not None and time.monotonic() > deadline:
            return view
        if not got:
            time.sleep(poll_s)


def plan_resume(ref: str, runs_dir: Path | str | None = None):  # noqa: ANN201 - ResumePlan, imported lazily
    """What resuming `ref` would do (checkpoint, step, steps left). Raises ReinsError if it cannot be resumed."""
    from engine.launching.resume import plan_resume as _plan

    return _plan(get_run(ref, runs_dir))


def resume_run(ref: str, runs_dir: Path | str | None = None) -> RunView:
    """Continue a crashed/stopped/failed run from its newest checkpoint as a new attempt of the same run."""
    from engine.launching.resume import plan_resume as _plan
    from engine.launching.resume import resume

    view = get_run(ref, runs_dir)
    resume(view, _plan(view))
    return get_run(view.id, runs_dir)

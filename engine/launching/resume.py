"""Resuming a run: find its newest checkpoint, say what resuming will do, and start it as a new attempt."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReinsError
from engine.recipe.methods import method_spec
from engine.runs.events import EventWriter
from engine.runs.process import record_alive
from engine.runs.rundir import RunDir, checkpoint_state
from engine.runs.store import RunView


class NoCheckpointError(ReinsError):
    """The run has no checkpoint to resume from."""


class ResumeRefusedError(ReinsError):
    """The run cannot be resumed in its current state (still running, or already completed)."""


@dataclass(frozen=True)
class ResumePlan:
    """What `resume` will do: which checkpoint, from which step, and how much is left."""

    run_id: str
    checkpoint: Path
    step: int
    max_steps: int | None
    attempt: int
    previous_status: str

    @property
    def remaining(self) -> int | None:
        return None if self.max_steps is None else max(self.max_steps - self.step, 0)

    def describe(self) -> str:
        left = f"{self.remaining} of {self.max_steps} steps remain" if self.max_steps else "the remaining steps"
        return (f"Resume {self.run_id} ({self.previous_status}) as attempt {self.attempt} from "
                f"{self.checkpoint.name} at step {self.step}: {left}. Metrics and events are appended to the same "
                f"run directory and the step counter continues from {self.step}.")

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "checkpoint": str(self.checkpoint), "step": self.step,
                "max_steps": self.max_steps, "remaining": self.remaining, "attempt": self.attempt,
                "previous_status": self.previous_status}


def checkpoints(rd: RunDir) -> list[Path]:
    """The run's complete checkpoints (those with a trainer_state.json), oldest first by step."""
    return rd.complete_checkpoints()


def plan_resume(view: RunView, requeued: bool = False) -> ResumePlan:
    """Check that `view` can be resumed and work out how. Raises ReinsError subclasses.

    `requeued`: a batch scheduler (SLURM) requeued the job that ran it, so its processes are gone wherever they
    ran; a run from another host is otherwise taken as alive, since its processes cannot be checked from here."""
    status = view.status
    if requeued and status in ("created", "starting", "running"):
        status = "crashed"  # as readers would call it, had they been able to see the processes end
    elif status in ("created", "starting", "running") and record_alive(view.record):
        raise ResumeRefusedError(f"Run {view.id} is still {status}; only a run that ended (crashed, stopped or "
                                 f"failed) can be resumed. Stop it first with `reins stop {view.id}`.")
    if status == "completed":
        raise ResumeRefusedError(f"Run {view.id} already completed; there is nothing to resume. Start a new run "
                                 "from its recipe instead.")
    spec = method_spec(view.record.get("method"))
    if spec is not None and not spec.resumable:
        raise ResumeRefusedError(f"Run {view.id} is a {spec.name.upper()} run: TRL cannot resume its trainer from a "
                                 "checkpoint. Start a new run from the newest checkpoint folder with "
                                 "--set model.name=<folder>.")
    found = checkpoints(view.dir)
    if not found:
        raise NoCheckpointError(
            f"Run {view.id} ({status}) has no checkpoint in {view.dir.checkpoints}, so it cannot be resumed. "
            "Checkpoints are written every `train.save_steps` steps and when a run is stopped; start a new run "
            "(e.g. with --set train.save_steps=50) instead."
        )
    newest = found[-1]
    state = json.loads(checkpoint_state(newest).read_text())
    return ResumePlan(
        run_id=view.id, checkpoint=newest, step=int(state.get("global_step", 0)),
        max_steps=state.get("max_steps") or None, attempt=len(view.record.get("attempts") or []) + 2,
        previous_status=status,
    )


def resume(view: RunView, plan: ResumePlan) -> int:
    """Start the planned attempt: record it in run.json and events.jsonl, then start the worker. Returns its pid."""
    from engine.launching import distributed
    from engine.launching.launcher import start_worker
    from engine.recipe.loading import read_yaml, validate

    rd = view.dir
    recipe = validate(read_yaml(rd.recipe), source=rd.recipe)
    relative = str(plan.checkpoint.relative_to(rd.path))
    # This host starts the new attempt: until its worker says so, readers must check processes here, not on the
    # host of the last attempt (a requeued SLURM task usually lands on another node).
    rd.begin_attempt(outcome=plan.previous_status, resume_from=relative, resume_step=plan.step,
                     host=socket.gethostname())
    with EventWriter(rd.events) as ev:
        ev.status("starting", attempt=plan.attempt, resume_from=relative, start_step=plan.step,
                  previous_status=plan.previous_status)
    config = rd.accelerate_config
    if not config.is_file():  # a run from before launch configs were written: write one now
        config = distributed.write_launch_files(recipe, rd)
    # The same GPUs as before (a resumed run's memory was placed there); the cwd it was submitted from.
    devices = tuple(view.record.get("devices") or ()) or None
    return start_worker(rd, distributed.worker_command(rd.path, config), devices, view.record.get("cwd"))


def resume_checkpoint(rd: RunDir) -> str | None:
    """For the worker: the checkpoint this attempt continues from (absolute path), or None for a fresh run."""
    relative = rd.read().get("resume_from")
    return str(rd.path / relative) if relative else None

"""A synth run: checked before anything is written, then its folder (run.json kind `generate`, synth.json, events)
and its detached worker `python -m engine.worker.synth RUN_DIR`; resuming starts that worker again."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReinsError
from engine.launching.launcher import _unique_dir, make_run_id, start_worker
from engine.launching.resume import ResumeRefusedError
from engine.recipe.loading import load_recipe
from engine.recipe.model_refs import resolve_model
from engine.recipe.schema import ChatJudge
from engine.runs.events import EventWriter
from engine.runs.process import record_alive
from engine.runs.rundir import RunDir, now_iso, write_json_atomic
from engine.runs.store import RunStore, RunView
from engine.synth.endpoint import api_key
from engine.synth.plan import LocalGenerator, SynthPlan, build_plan, generator_warnings, read_prompts
from engine.synth.rows import written_rows

KIND = "generate"


def check_plan(plan: SynthPlan, runs_root: Path, recipe: str | None = None) -> list[str]:
    """Everything a synth run checks before it writes anything (ReinsError, exit 2, on bad input); returns the
    warnings to record and show."""
    read_prompts(plan.prompts, plan.limit)
    out = Path(plan.out)
    if not out.parent.is_dir():
        raise ReinsError(f"The output folder {out.parent} does not exist.")
    if out.exists() and out.stat().st_size > 0:
        raise ReinsError(f"The output file {out} already exists and is not empty: pick another path (a stopped "
                         "synth run continues with `reins resume RUN`, appending to its own file).")
    generator_path = None
    if isinstance(plan.generator, LocalGenerator):
        generator_path = str(resolve_model(plan.generator.model.name, runs_root).path)
    else:
        api_key(plan.generator.api_key_env)
    if plan.judge is not None:
        if isinstance(plan.judge, ChatJudge):
            api_key(plan.judge.api_key_env)
        else:
            resolve_model(plan.judge.model, runs_root)
    if recipe is None:
        return []
    aligned = load_recipe(recipe).recipe.model.name
    try:
        aligned_path = str(resolve_model(aligned, runs_root).path)
    except ReinsError:
        aligned_path = None
    return generator_warnings(plan, aligned, aligned_path, generator_path)


def submit(prompts: str | Path, out: str | Path, options: dict, recipe: str | None, name: str | None,
           runs_root: Path) -> RunView:
    """Build and check the plan from `reins data synth`'s options, then start its run (nothing is written when a
    check fails)."""
    plan = build_plan(prompts, out, **options)
    return start_synth(plan, runs_root, name, check_plan(plan, runs_root, recipe))


def worker_command(rd: RunDir) -> list[str]:
    return [sys.executable, "-m", "engine.worker.synth", str(rd.path)]


def start_synth(plan: SynthPlan, runs_root: Path, name: str | None = None,
                warnings: list[str] | None = None) -> RunView:
    """Write the run folder and start its worker detached; returns at once."""
    label = name or f"synth-{plan.mode}-{Path(plan.generator.label.split(' @ ')[0]).name}"
    rd = RunDir(_unique_dir(runs_root, make_run_id(label)))
    write_json_atomic(rd.synth_plan, plan.model_dump(mode="json"))
    cmd = worker_command(rd)
    settings = {"mode": plan.mode, "max_new_tokens": plan.max_new_tokens, "temperature": plan.sampling_temperature}
    if plan.mode == "best-of-n":
        settings.update(n=plan.n, threshold=plan.threshold, judge=plan.judge_label())
    gen = plan.generator
    where = {"model": gen.model.name} if isinstance(gen, LocalGenerator) else {"model": gen.model,
                                                                               "endpoint": gen.url}
    rd.update(id=rd.id, kind=KIND, name=label, **where, prompts=plan.prompts, output=plan.out,
              created=now_iso(), host=socket.gethostname(), argv=[shlex.quote(a) for a in cmd], status="created",
              settings=settings, warnings=list(warnings or []), cwd=os.getcwd())
    with EventWriter(rd.events) as ev:
        ev.status("created")
        ev.status("starting")
    start_worker(rd, cmd)
    return RunStore(runs_root).get(rd.id)


@dataclass(frozen=True)
class SynthResumePlan:
    """What resuming a synth run will do: a new attempt that skips the prompt rows already written."""

    run_id: str
    attempt: int
    previous_status: str
    written: int

    def describe(self) -> str:
        return (f"Resume {self.run_id} ({self.previous_status}) as attempt {self.attempt}: the {self.written} prompt "
                "rows with pairs already written are skipped, the rest are generated and appended.")

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "attempt": self.attempt, "previous_status": self.previous_status,
                "written": self.written}


def plan_synth_resume(view: RunView) -> SynthResumePlan:
    """Check a synth run can be resumed (it ended without completing and has its plan). Raises ReinsError."""
    status = view.status
    if status in ("created", "starting", "running") and record_alive(view.record):
        raise ResumeRefusedError(f"Run {view.id} is still {status}; stop it first with `reins stop {view.id}`.")
    if status == "completed":
        raise ResumeRefusedError(f"Run {view.id} already completed: every prompt has its pair or was skipped.")
    if not view.dir.synth_plan.is_file():
        raise ReinsError(f"Run {view.id} has no {view.dir.synth_plan.name}, so it cannot be resumed.")
    plan = SynthPlan.model_validate_json(view.dir.synth_plan.read_text())
    return SynthResumePlan(view.id, len(view.record.get("attempts") or []) + 2, status,
                           len(written_rows(Path(plan.out), view.id)))


def resume_synth(view: RunView) -> RunView:
    """Start a stopped, failed or crashed synth run again: the worker skips the prompt rows already written."""
    plan = plan_synth_resume(view)
    rd = view.dir
    rd.begin_attempt(outcome=plan.previous_status, host=socket.gethostname())
    with EventWriter(rd.events) as ev:
        ev.status("starting", attempt=plan.attempt, previous_status=plan.previous_status)
    start_worker(rd, worker_command(rd), None, view.record.get("cwd"))
    return RunStore(rd.path.parent).get(rd.id)

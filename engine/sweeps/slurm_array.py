"""A sweep as a SLURM job array: every member checked, its run id fixed, the script and the sweep's record written."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import RecipeError
from engine.launching.pipeline import STAGE_REF
from engine.launching.slurm import ArrayTask, SlurmJob, array_script, write_script
from engine.recipe.loading import load_recipe
from engine.runs.rundir import write_json_atomic
from engine.sweeps import record as records
from engine.sweeps.plan import Member, plan
from engine.sweeps.spec import SweepSpec


@dataclass
class SlurmSweep:
    """The job-array script, the sweep's record (written to `record_path`), and what to warn about."""

    script: str
    record: dict[str, Any]
    record_path: Path
    warnings: list[str] = field(default_factory=list)


def member_run_id(sweep_id: str, index: int) -> str:
    """Member `index`'s run id: fixed when the script is written, so a requeued task finds the run it started."""
    return f"{sweep_id}-{index + 1}"


def array_tasks(sweep_id: str, members: list[Member]) -> list[ArrayTask]:
    """One task per member: its run id, its overrides and its run.json `sweep`, as a local sweep's member has."""
    return [ArrayTask(member_run_id(sweep_id, i), m.overrides,
                      {"id": sweep_id, "member": i, "label": m.label, "settings": m.point, "seed": m.seed})
            for i, m in enumerate(members)]


def export_sweep(spec: SweepSpec, source: str, name: str, job: SlurmJob, runs_root: Path, yes: bool = False,
                 output: Path | None = None) -> SlurmSweep:
    """Check every member (nothing is written when one fails), then write the script (to `output` if given) and the
    sweep's record with each member's run id, so `reins sweep show` ranks the members as their tasks end."""
    job.check()  # the options first: nothing below may fail after the record is written
    if spec.stages:
        _refuse_stages(source, [s.name for s in spec.stages])
    members = plan(spec, runs_root, yes)
    refs = sorted({ref for m in members for o in m.overrides for ref in STAGE_REF.findall(o)})
    if refs:
        _refuse_stages(source, [f"{{{r}}}" for r in refs])
    path, rec = records.new_record(spec, members, runs_root, name, source)
    sweep_id = rec["id"]
    job = replace(job, job_name=f"reins-{sweep_id}")
    tasks = array_tasks(sweep_id, members)
    for entry, task in zip(rec["members"], tasks, strict=True):
        entry["run_id"] = task.run_id
    base = load_recipe(spec.recipe, spec.set)
    text = array_script(str(base.source), tasks, job, runs_root, sweep_id)
    warnings = [] if "train.save_steps" in spec.grid or base.recipe.train.save_steps is not None else [
        "members checkpoint only at their end and when stopped: a member preempted before its first checkpoint "
        "cannot continue when SLURM requeues it (add --set train.save_steps=N)"]
    rec["slurm"] = {"job_name": job.job_name, "script": str(output.resolve()) if output else None}
    if output is not None:
        write_script(text, output)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, rec)
    return SlurmSweep(text, rec, path, warnings)


def _refuse_stages(source: str, stages: list[str]) -> None:
    # Stages would need a first job and the array submitted with `--dependency=afterok` on it: not done yet.
    raise RecipeError(f"{source} has stages ({', '.join(stages)}): the SLURM export does not run stages yet. Run "
                      "them first with `reins run` and name their runs in the sweep's `set` (e.g. "
                      "method.reward_model=run:ID), or sweep on this machine with `reins sweep`.")


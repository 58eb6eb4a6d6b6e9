"""The Python API that the CLI and the TUI both call: one function per user action."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.annotation.agreement import Comparison
from engine.annotation.export import Exported
from engine.annotation.overview import SetOverview, overview
from engine.annotation.session import Session
from engine.data.reading import DataFile
from engine.errors import ReinsError
from engine.estimate.catalogue import ArchitectureInfo, architecture_config, architectures
from engine.estimate.fit import estimate as _estimate
from engine.estimate.memory import Estimate, check_gpu_memory, detect_gpu_memory_gib
from engine.launching import pipeline as _pipeline
from engine.launching.launcher import QueueRequest, prepare
from engine.launching.launcher import launch as _launch
from engine.launching.pipeline import PipelineInfo, StartedPipeline
from engine.paths import runs_dir as _runs_dir
from engine.queue.status import QueueStatus
from engine.recipe.bundled import RecipeInfo, bundled_recipes
from engine.recipe.loading import LoadedRecipe, load_recipe
from engine.runs import logs as _logs
from engine.runs.details import RunDetails
from engine.runs.details import run_details as _run_details
from engine.runs.events import TERMINAL_STATUSES
from engine.runs.follow import follow_run
from engine.runs.logs import LogTail
from engine.runs.process import signal_run
from engine.runs.rundir import RunDir
from engine.runs.store import RunStore, RunView
from engine.studio import (
    annotation_agreement,
    annotation_session,
    convert_data,
    export_annotations,
    inspect_data,
    list_annotation_sets,
    open_annotation_set,
    read_data,
    sample_data,
    split_data,
    start_synth,
)
from engine.sweeps.slurm_array import SlurmSweep
from engine.sweeps.summary import SweepSummary
from engine.verdict.annotate import SampleMarks, annotate, list_marks
from engine.verdict.healthcheck import HealthResult
from engine.verdict.report import WrittenReport

if TYPE_CHECKING:
    from engine.exporting.model import ExportedModel
    from engine.importing.mapping import ImportedConfig
    from engine.launching.resume import ResumePlan
    from engine.queue.settings import QueueSettings
    from engine.synth.launch import SynthResumePlan

__all__ = [
    "launch", "list_recipes", "list_pipelines", "find_pipeline", "validate_recipe", "recipe_warnings",
    "estimate_recipe", "list_architectures", "slurm_script", "start_pipeline", "wait_for_pipeline", "list_runs",
    "get_run", "run_details", "stop_run", "wait_for", "read_log", "follow_log", "plan_resume", "resume_run",
    "check_health", "write_report", "rejudge_samples", "list_samples", "annotate_sample", "head_to_head",
    "rerun_probes", "queue_status", "cancel_queued", "prioritize", "pause_queue", "resume_queue",
    "queue_settings", "revive_queue", "find_sweep", "list_sweep_files", "plan_sweep", "start_sweep", "list_sweeps",
    "sweep_summary", "stop_sweep", "wait_for_sweep", "slurm_sweep_script", "export_model", "import_config",
    "read_data", "inspect_data", "convert_data", "sample_data", "split_data", "DataFile",
    "default_annotator", "open_annotation_set", "annotation_set_from_run", "list_annotation_sets",
    "annotation_session", "export_annotations", "annotation_agreement",
    "start_synth",
    "RunView", "RunDetails", "Estimate", "LogTail", "PipelineInfo", "StartedPipeline", "ArchitectureInfo",
    "HealthResult", "WrittenReport", "SampleMarks", "QueueStatus", "SweepSummary", "SlurmSweep",
    "SetOverview", "Session", "Exported", "Comparison",
]


# ---------- recipes ----------

def list_recipes() -> list[RecipeInfo]:
    """The bundled recipes, with a one-line description each."""
    return bundled_recipes()


def list_pipelines() -> list[PipelineInfo]:
    """The bundled pipelines (`pipelines/<name>`), with a one-line description and their stages each."""
    return _pipeline.pipeline_infos()


def find_pipeline(ref: str) -> Path | None:
    """The pipeline file `ref` names (a path or `pipelines/<name>`), or None when it names a recipe."""
    return _pipeline.find_pipeline(ref)


def validate_recipe(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (),
                    check_files: bool = True) -> LoadedRecipe:
    """Load and validate a recipe (and, by default, its model reference and data). Raises ReinsError."""
    if check_files:
        return prepare(recipe, overrides)[0]
    return load_recipe(recipe, overrides)


def recipe_warnings(loaded: LoadedRecipe, runs_dir: Path | str | None = None) -> list[str]:
    """What to warn about before launching a valid recipe: model code it lets run here, and settings that are legal
    but usually a mistake (learning rate, β, truncation, settings the method's trainer ignores, …)."""
    from engine.launching.preflight import recipe_warnings as _warnings

    return _warnings(loaded.recipe, Path(runs_dir) if runs_dir else None)


# ---------- estimates ----------

def estimate_recipe(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (),
                    gpu_memory_gib: float | None = None, model: str | None = None, **options: Any) -> Estimate:
    """The VRAM estimate for a recipe, against `gpu_memory_gib` or the detected GPU.

    `model` replaces the recipe's model for the estimate (a catalogue name such as `llama-3.1-8b`, a folder or a
    cached hub id); `options` are estimate settings the recipe has no field for (liger, gpus, strategy, …)."""
    check_gpu_memory(gpu_memory_gib)  # before `or`: a 0 must be refused, not replaced by the detected GPU
    loaded = load_recipe(recipe, overrides)
    config = architecture_config(model or loaded.recipe.model.name)
    return _estimate(loaded.recipe, config, gpu_memory_gib or detect_gpu_memory_gib(), **options)


def list_architectures() -> list[ArchitectureInfo]:
    """The built-in catalogue of architectures an estimate needs no download for, with their sizes."""
    return architectures()


# ---------- launching ----------

def slurm_script(recipe: str, overrides: list[str] | tuple[str, ...] = (), *, nodes: int, gpus_per_node: int,
                 time_limit: str = "04:00:00", partition: str | None = None, port: int = 29500,
                 runs_dir: Path | str | None = None, output: Path | None = None) -> str:
    """An sbatch script that runs `recipe` on `nodes` machines; also written (executable) to `output` if given."""
    from engine.launching.slurm import SlurmJob, export_script

    job = SlurmJob(nodes=nodes, gpus_per_node=gpus_per_node, time=time_limit, partition=partition, port=port)
    return export_script(recipe, list(overrides), job, _runs_dir(runs_dir), output)


def slurm_sweep_script(target: str, grid: list[str] | None = None, seeds: int | None = None,
                       overrides: list[str] | tuple[str, ...] = (), *, gpus_per_node: int,
                       time_limit: str = "04:00:00", partition: str | None = None, max_parallel: int | None = None,
                       name: str | None = None, yes: bool = False, metric: str | None = None,
                       direction: str | None = None, runs_dir: Path | str | None = None,
                       output: Path | None = None) -> SlurmSweep:
    """A sweep (a sweep file, or a recipe with `grid` items) as a SLURM job array: one single-node task per member,
    each a `reins run` into the run store with a fixed run id, resumed when SLURM requeues it. Every member is
    checked first (ReinsError naming each one that fails, nothing written); then the script is written (executable)
    to `output` if given, and the sweep's record to runs/sweeps/<id>.json, so `sweep_summary` ranks the members."""
    from engine.launching.slurm import SlurmJob
    from engine.sweeps.slurm_array import export_sweep

    spec, source = _sweep_spec(target, grid, seeds, overrides, metric, direction)
    job = SlurmJob(nodes=1, gpus_per_node=gpus_per_node, time=time_limit, partition=partition,
                   max_parallel=max_parallel)
    return export_sweep(spec, source, name or f"sweep-{Path(target).stem}", job, _runs_dir(runs_dir), yes, output)


def launch(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (), name: str | None = None,
           runs_dir: Path | str | None = None, gpu_memory_gib: float | None = None, run_id: str | None = None,
           queue: bool = False, priority: int = 0, devices: list[int] | tuple[int, ...] | None = None,
           pipeline: dict[str, Any] | None = None, sweep: dict[str, Any] | None = None) -> RunView:
    """Validate a recipe and start it detached (returns at once), or with `queue` add it to the store's queue: the
    scheduler (started here if none runs) starts it when a CPU slot or GPUs with room for its estimate are free,
    higher `priority` first. `devices` pins it to GPU ids. `sweep`: run.json's sweep membership ({id, member, label,
    settings, seed}: a SLURM array task's). Raises ReinsError on bad input, before writing anything."""
    root = _runs_dir(runs_dir)
    view = _launch(recipe, overrides, name=name, runs_dir=root, gpu_memory_gib=gpu_memory_gib, run_id=run_id,
                   queue=QueueRequest(priority) if queue else None, devices=devices, pipeline=pipeline,
                   extra={"sweep": sweep} if sweep else None)
    if queue:
        revive_queue(root)
    return view


def start_pipeline(path: Path, name: str | None = None, runs_dir: Path | str | None = None) -> StartedPipeline:
    """Check a pipeline and its first stage, then start its driver detached (it launches the stages in order)."""
    return _pipeline.start(path, _runs_dir(runs_dir), name)


def wait_for_pipeline(pipeline_id: str, runs_dir: Path | str | None = None, poll_s: float = 1.0,
                      on_change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Follow a pipeline until it ends, calling `on_change(record)` whenever a stage moves; returns the record."""
    return _pipeline.wait(_pipeline.record_path(_runs_dir(runs_dir), pipeline_id), poll_s, on_change)


# ---------- runs ----------

def store(runs_dir: Path | str | None = None) -> RunStore:
    """The run store under `runs_dir` (default: $REINS_RUNS_DIR, else ./runs)."""
    return RunStore(_runs_dir(runs_dir))


def list_runs(runs_dir: Path | str | None = None, ranked: bool = False) -> list[RunView]:
    """Every run in the store, newest first; `ranked`: best first by the report's verdict (keep, inconclusive,
    don't keep, none) and then its headline number's lower bound."""
    views = store(runs_dir).refresh()
    if ranked:
        from engine.verdict.decision import rank_key

        views.sort(key=lambda v: rank_key(v.record))  # stable: equal runs stay newest first
    return views


def get_run(ref: str, runs_dir: Path | str | None = None) -> RunView:
    """One run by id, id prefix, name, or `latest`. Raises RunNotFoundError."""
    return store(runs_dir).get(ref)


def run_details(run: str | RunView, runs_dir: Path | str | None = None) -> RunDetails:
    """One run (a reference, or a view already read) with its launch estimate and its report's verdict."""
    return _run_details(run if isinstance(run, RunView) else get_run(run, runs_dir))


def stop_run(ref: str, runs_dir: Path | str | None = None, wait_s: float = 120.0) -> RunView:
    """Stop a run and wait up to `wait_s`: returns it as it ended, or still stopping if the time ran out.

    SIGTERM goes to the run's process group: the worker saves a checkpoint and ends `stopped`."""
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
    return follow_run(get_run(ref, runs_dir).dir, timeout_s, poll_s, on_events)


def read_log(ref: str, lines: int = 50, runs_dir: Path | str | None = None) -> LogTail:
    """The last `lines` lines of a run's worker log (stdout/stderr), read from the end of the file."""
    return get_run(ref, runs_dir).dir.log_tail(lines)


def follow_log(ref: str, offset: int, runs_dir: Path | str | None = None, poll_s: float = 0.5) -> Iterator[str]:
    """The text a run's worker log gains after byte `offset` (e.g. `read_log(...).end`), until the run has ended."""
    view = get_run(ref, runs_dir)
    return _logs.follow(view.dir.stdout, offset, lambda: get_run(view.id, runs_dir).status in TERMINAL_STATUSES,
                        poll_s)


def plan_resume(ref: str, runs_dir: Path | str | None = None,
                requeued: bool = False) -> ResumePlan | SynthResumePlan:
    """What resuming `ref` would do (checkpoint, step, steps left; for a synth run, the rows it skips). Raises
    ReinsError if it cannot be resumed. `requeued`: a batch scheduler requeued the job that ran it, so its
    processes are gone wherever they ran."""
    from engine.launching import resume as training
    from engine.synth import launch as synth

    view = get_run(ref, runs_dir)
    return synth.plan_synth_resume(view) if view.kind == "generate" else training.plan_resume(view, requeued)


def resume_run(ref: str, runs_dir: Path | str | None = None, requeued: bool = False) -> RunView:
    """Continue a crashed/stopped/failed run from its newest checkpoint as a new attempt of the same run (with
    `requeued`, also a run whose job a batch scheduler requeued, see `plan_resume`); a synth run's new attempt
    skips the prompt rows already written."""
    from engine.launching.resume import plan_resume as _plan
    from engine.launching.resume import resume
    from engine.synth.launch import resume_synth

    view = get_run(ref, runs_dir)
    if view.kind == "generate":
        return resume_synth(view)
    resume(view, _plan(view, requeued))
    return get_run(view.id, runs_dir)


# ---------- the queue ----------

def revive_queue(runs_dir: Path | str | None = None) -> int | None:
    """Start the store's scheduler if work is queued and none runs (after a logout, a reboot, a killed scheduler);
    returns its pid, or None when none was needed."""
    from engine.queue.scheduler import ensure_scheduler

    return ensure_scheduler(_runs_dir(runs_dir))


def queue_status(runs_dir: Path | str | None = None) -> QueueStatus:
    """Running work and the queue in order, the store's queue settings, the scheduler and the GPUs; starts a
    scheduler when work waits and none runs."""
    from engine.queue.status import read_status

    revive_queue(runs_dir)
    return read_status(_runs_dir(runs_dir))


def cancel_queued(ref: str, runs_dir: Path | str | None = None) -> RunView:
    """Take a queued run out of the queue; it ends `stopped` and never starts. Raises ReinsError if it started."""
    from engine.queue.entries import cancel

    return cancel(store(runs_dir), ref)


def prioritize(ref: str, priority: int | None = None, up: bool = False, runs_dir: Path | str | None = None) -> RunView:
    """Give a queued run a priority (higher starts first), or move it one place up the queue (`up`)."""
    from engine.queue.entries import set_priority

    return set_priority(store(runs_dir), ref, priority, up)


def pause_queue(runs_dir: Path | str | None = None) -> QueueSettings:
    """Start no more queued runs (runs already started go on) until `resume_queue`."""
    return queue_settings({"paused": True}, runs_dir)


def resume_queue(runs_dir: Path | str | None = None) -> QueueSettings:
    """Let the queue start runs again, starting a scheduler for it."""
    settings = queue_settings({"paused": False}, runs_dir)
    revive_queue(runs_dir)
    return settings


def queue_settings(changes: dict[str, Any] | None = None, runs_dir: Path | str | None = None) -> QueueSettings:
    """The store's queue settings (`runs/queue/settings.yaml`), after applying `changes` if given. Raises
    ReinsError for an unknown setting or a bad value."""
    from engine.queue.settings import read_settings, update_settings

    root = _runs_dir(runs_dir)
    return update_settings(root, changes) if changes else read_settings(root)


# ---------- sweeps ----------

def find_sweep(ref: str) -> Path | None:
    """The sweep file `ref` names (a path or `sweeps/<name>`), or None when it names a recipe."""
    from engine.sweeps.spec import find_sweep as _find

    return _find(ref)


def list_sweep_files() -> list[tuple[str, Path, str]]:
    """The bundled sweep files: (name to type, file, description)."""
    from engine.sweeps.spec import bundled_sweeps

    return bundled_sweeps()


def _sweep_spec(target: str, grid: list[str] | None, seeds: int | None, overrides: list[str] | tuple[str, ...],
                metric: str | None, direction: str | None) -> tuple[Any, str]:
    """A sweep file (its grid extended by `grid`, its settings by `overrides`) or a recipe with `--grid`s."""
    from engine.sweeps.spec import SweepSpec, load_sweep, parse_grid, split_overrides, with_overrides

    path = find_sweep(target)
    extra_grid = parse_grid(grid) if grid else {}
    if path is not None:
        spec = load_sweep(path)
        spec = with_overrides(spec.model_copy(update={"grid": {**spec.grid, **extra_grid}}), overrides)
        source = str(path)
    else:
        sets, _ = split_overrides(overrides, [])
        load_recipe(target, sets)  # the recipe itself first: its own errors read better than a member's
        spec = SweepSpec(recipe=target, set=sets, grid=parse_grid(grid or []))
        source = target
    updates = {k: v for k, v in (("seeds", seeds), ("metric", metric), ("direction", direction)) if v is not None}
    return (SweepSpec.model_validate({**spec.model_dump(), **updates}) if updates else spec), source


def plan_sweep(target: str, grid: list[str] | None = None, seeds: int | None = None,
               overrides: list[str] | tuple[str, ...] = (), yes: bool = True, metric: str | None = None,
               direction: str | None = None, runs_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """The members a sweep would queue (each validated; identical ones merged), with each one's memory estimate
    (`need_gib`). Raises ReinsError naming every member that fails."""
    from engine.sweeps.plan import plan

    spec, _ = _sweep_spec(target, grid, seeds, overrides, metric, direction)
    members = plan(spec, _runs_dir(runs_dir), yes)
    out = []
    for m in members:
        try:
            est = estimate_recipe(spec.recipe, [o for o in m.overrides if "{" not in o])
            need = round(est.total_gib, 3)
        except ReinsError:
            need = None
        out.append({**m.to_dict(), "need_gib": need})
    return out


def start_sweep(target: str, grid: list[str] | None = None, seeds: int | None = None,
                overrides: list[str] | tuple[str, ...] = (), name: str | None = None, yes: bool = False,
                metric: str | None = None, direction: str | None = None, priority: int = 0,
                runs_dir: Path | str | None = None) -> dict[str, Any]:
    """Check every member of a sweep (a recipe with `grid` items such as `method.beta=0.05,0.1`, or a sweep file),
    then queue them (and the sweep file's stages first) and start the scheduler. Returns the sweep's record.
    Raises ReinsError before anything is queued when any member is invalid, or for > 64 members without `yes`."""
    from engine.sweeps import record as records
    from engine.sweeps.plan import plan

    root = _runs_dir(runs_dir)
    spec, source = _sweep_spec(target, grid, seeds, overrides, metric, direction)
    members = plan(spec, root, yes)
    label = name or f"sweep-{Path(target).stem}"
    record = records.submit(spec, members, root, label, source, priority)
    revive_queue(root)
    return record


def list_sweeps(runs_dir: Path | str | None = None) -> list[SweepSummary]:
    """Every sweep in the store, newest first, with its members' states read from their runs."""
    from engine.sweeps import record as records
    from engine.sweeps.summary import summarize_sweep

    root = _runs_dir(runs_dir)
    revive_queue(root)
    st = RunStore(root)
    return [summarize_sweep(p, st) for p in records.list_records(root)]


def sweep_summary(ref: str, runs_dir: Path | str | None = None) -> SweepSummary:
    """One sweep (id, id prefix or `latest`): its members by grid point, ranked by the sweep's metric, the best one
    marked only when its interval excludes the runner-up's."""
    from engine.sweeps import record as records
    from engine.sweeps.summary import summarize_sweep

    root = _runs_dir(runs_dir)
    revive_queue(root)
    return summarize_sweep(records.record_path(root, ref), RunStore(root))


def stop_sweep(ref: str, runs_dir: Path | str | None = None) -> SweepSummary:
    """Cancel a sweep's queued members and stop its running ones (they save a checkpoint and end `stopped`)."""
    from engine.queue.entries import CANCELLED, end_queued, queue_lock
    from engine.sweeps import record as records

    root = _runs_dir(runs_dir)
    path = records.record_path(root, ref)
    job = (records.read(path).get("slurm") or {}).get("job_name")
    if job:  # its members run on compute nodes, under SLURM: this machine cannot signal them
        raise ReinsError(f"Sweep {path.stem} runs as the SLURM job array {job}: cancel it with `scancel --name={job}`.")
    rec = records.mark_stopped(path)
    st = RunStore(root)
    ids = [e.get("run_id") for e in [*rec.get("stages", []), *rec["members"]] if e.get("run_id")]
    with queue_lock(root):
        for run_id in ids:
            view = st.get(run_id)
            if view.status == "queued":
                end_queued(view, "stopped", CANCELLED)
    for run_id in ids:
        view = st.get(run_id)
        if not view.ended:
            signal_run(view.record, signal.SIGTERM)
    return sweep_summary(path.stem, root)


def wait_for_sweep(ref: str, runs_dir: Path | str | None = None, poll_s: float = 2.0,
                   on_change: Callable[[SweepSummary], None] | None = None) -> SweepSummary:
    """Follow a sweep until every member has ended, calling `on_change(summary)` whenever a member's state moves."""
    import time

    last = None
    while True:
        summary = sweep_summary(ref, runs_dir)
        states = [(m.get("run_id"), m["status"]) for m in summary.record["members"]]
        if on_change and states != last:
            on_change(summary)
        last = states
        if summary.ended:
            from engine.sweeps.summary import await_reports

            if await_reports(summary, store(runs_dir)):
                return sweep_summary(ref, runs_dir)  # read again: the last members' headlines were written meanwhile
            return summary
        time.sleep(poll_s)


# ---------- verdicts ----------

def check_health(target: str, runs_dir: Path | str | None = None, method: str | None = None,
                 beta: float | None = None) -> HealthResult:
    """The red-flag rules over a run (id/prefix/name or folder), an events.jsonl or a TRL trainer_state.json; for a
    log without a recipe, `method` and `beta` say what it does not (else inferred from its keys, and said so)."""
    from engine.verdict.healthcheck import check

    return check(target, runs_dir, method, beta)


def _report_dir(ref: str, runs_dir: Path | str | None) -> RunDir:
    """A run folder given as a path (it holds events), else the run `ref` names in the store."""
    given = RunDir(Path(ref))
    return given if given.events.is_file() else get_run(ref, runs_dir).dir


def write_report(ref: str, runs_dir: Path | str | None = None) -> WrittenReport:
    """Write report.json and report.md into a run's folder (a run reference or a run directory)."""
    from engine.verdict.report import write_report_files

    return write_report_files(_report_dir(ref, runs_dir).path)


def rejudge_samples(ref: str, judge_url: str | None = None, judge_model: str | None = None,
                    judge_key_env: str | None = None, judge_run: str | None = None,
                    runs_dir: Path | str | None = None, judge_local: str | None = None) -> dict[str, Any]:
    """Judge a finished run's stored samples again and return the judge's result (tally, lengths).

    The judge is a chat endpoint (`judge_url` + `judge_model`, asked from this process), a reward model (`judge_run`)
    or a local chat model (`judge_local`): `run:<id>`, a folder or a model name, loaded and run in a worker process,
    so this one never imports torch."""
    from engine.verdict.rejudge import judge_config, rejudge

    rd = _report_dir(ref, runs_dir)
    cfg = judge_config(judge_url, judge_model, judge_key_env, judge_run, judge_local)
    return rejudge(rd.path, cfg, _runs_dir(runs_dir))


def head_to_head(ref: str, against: str, judge_url: str | None = None, judge_model: str | None = None,
                 judge_key_env: str | None = None, judge_run: str | None = None, judge_local: str | None = None,
                 runs_dir: Path | str | None = None) -> dict[str, Any]:
    """Judge run `ref`'s stored answers against run `against`'s on the prompts both answered (both orders), store
    the result in `ref`'s events and return it. The judge is the one the options name, else `ref`'s report.judge."""
    from engine.verdict.head_to_head import head_to_head as _head_to_head
    from engine.verdict.rejudge import judge_config

    a, b = _report_dir(ref, runs_dir), _report_dir(against, runs_dir)
    named = any((judge_url, judge_model, judge_run, judge_local))
    cfg = judge_config(judge_url, judge_model, judge_key_env, judge_run, judge_local) if named else None
    return _head_to_head(a.path, b.path, cfg, _runs_dir(runs_dir))


def list_samples(ref: str, runs_dir: Path | str | None = None) -> SampleMarks:
    """The samples of a run's newest evaluation, each with the judge's verdict and a person's mark, and how often
    the two agree (a run reference or a run directory)."""
    return list_marks(_report_dir(ref, runs_dir))


def annotate_sample(ref: str, index: int, winner: str, note: str | None = None, runs_dir: Path | str | None = None,
                    annotator: str | None = None) -> SampleMarks:
    """Record a person's decision on sample `index` (0-based; shown as #index+1): `policy`, `reference` or `tie` is
    better, or `skip` to withdraw a mark. Appended to the run's annotation journal; the report is rewritten. Raises
    ReinsError for an unknown run, sample or winner."""
    return annotate(_report_dir(ref, runs_dir), index, winner, annotator or default_annotator(), note)


def default_annotator() -> str:
    """Who is annotating when nobody says: the login name."""
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"


def rerun_probes(ref: str, runs_dir: Path | str | None = None) -> dict[str, Any]:
    """Run the capability probes (and lm-eval, when the recipe sets `report.lm_eval`) again on a finished run: its
    base model against its `final/` output, in a worker process (this one never imports torch). Records a new
    `evaluation` event and returns the probed parts' values and errors."""
    from engine.verdict.reprobe import reprobe

    return reprobe(_report_dir(ref, runs_dir).path)


# ---------- annotation sets (the rest of the data studio is engine/studio.py) ----------

def annotation_set_from_run(ref: str, runs_dir: Path | str | None = None) -> tuple[SetOverview, bool]:
    """Turn a finished run's held-out generations (reference vs policy) into an annotation set."""
    from engine.annotation.making import from_run

    aset, made = from_run(_runs_dir(runs_dir), _report_dir(ref, runs_dir))
    return overview(aset), made


# ---------- to and from other tools ----------

def export_model(ref: str, output: Path | str, merge: bool = False, dtype: str | None = None,
                 runs_dir: Path | str | None = None) -> ExportedModel:
    """Write a completed run's model to `output` with a model card (README.md): with `merge`, a LoRA adapter merged
    into its unquantised base in `dtype` (bf16 unless given; in a worker process, this one never imports torch),
    else the saved adapter or model as it is. Raises ReinsError for an unknown or unfinished run or an occupied
    output folder."""
    from engine.exporting.model import export_model as _export_model

    return _export_model(get_run(ref, runs_dir), Path(output), merge, dtype)


def import_config(tool: str, path: Path | str, output: Path | str | None = None) -> ImportedConfig:
    """A Reins recipe from another tool's training config (`llamafactory` or `axolotl`), with what mapped to what
    and every key that has none; validated as `reins validate` does (without the data and model files) and written
    to `output` when given. Raises ReinsError for an unreadable file or a stage Reins has no method for."""
    from engine.importing.mapping import import_config as _import_config

    return _import_config(tool, Path(path), Path(output) if output is not None else None)

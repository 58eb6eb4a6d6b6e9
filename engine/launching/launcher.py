"""Launching a run: validate, estimate, write the run directory, start the worker detached, return at once."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.data.checks import check_data
from engine.data.hashing import data_files
from engine.errors import ModelNotFoundError, RecipeError, ReinsError
from engine.estimate.fit import estimate
from engine.estimate.gpus import read_gpus
from engine.estimate.memory import check_gpu_memory
from engine.launching import distributed
from engine.launching.preflight import missing_package_problems, recipe_warnings
from engine.launching.secrets import redact, worker_env
from engine.paths import runs_dir as default_runs_dir
from engine.recipe.keysettings import key_settings
from engine.recipe.loading import LoadedRecipe, dump_recipe, load_recipe
from engine.recipe.model_refs import RUN_PREFIX, resolve_model
from engine.recipe.reward_funcs import check_reward_funcs
from engine.runs.events import EventWriter
from engine.runs.process import process_start_ticks
from engine.runs.rundir import RunDir, now_iso, write_json_atomic
from engine.runs.store import RunStore, RunView

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def make_run_id(name: str, when: datetime | None = None) -> str:
    """UTC timestamp + slug, e.g. `20261127-021500-dpo-smollm2`."""
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "run"
    return f"{stamp}-{slug}"


def _unique_dir(root: Path, run_id: str) -> Path:
    # Two launches in the same second with the same name must not share a folder: mkdir is the arbiter.
    candidate, n = root / run_id, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            n += 1
            candidate = root / f"{run_id}-{n}"


MODEL_REFS = ("model.name", "method.reward_model", "method.value_model", "report.judge.model")


def _get(r, key: str):  # noqa: ANN001, ANN202
    """The value at a dotted recipe path, or None where any part is missing (e.g. no judge set)."""
    obj = r
    for part in key.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _set(r, key: str, value: str):  # noqa: ANN001, ANN202
    """A copy of the recipe with the dotted path replaced (pydantic models are copied level by level)."""
    head, _, rest = key.partition(".")
    child = getattr(r, head)
    return r.model_copy(update={head: _set(child, rest, value) if rest else value})


def resolve_inputs(loaded: LoadedRecipe, runs_root: Path | None = None,
                   pending: list[str] | None = None) -> tuple[LoadedRecipe, dict[str, str]]:
    """Check every model the recipe names exists here; pin `run:<prefix>` references to full run ids.

    Returns the recipe with pinned references and {setting: resolved path} for the run's record. With a `pending`
    list (a queued run), a `run:` reference to a run that has not ended yet is accepted: its id is appended to
    `pending` (the queue starts this run only once that one completed) and it is resolved again at start."""
    r = loaded.recipe
    inputs: dict[str, str] = {}
    for key, ref in _refs(r):
        try:
            resolved = resolve_model(ref, runs_root)
        except ModelNotFoundError:
            waiting = _unfinished_run(ref, runs_root) if pending is not None else None
            if waiting is None:
                raise
            pending.append(waiting)
            r = _set(r, key, f"{RUN_PREFIX}{waiting}")
            continue
        inputs[key] = str(resolved.path)
        if resolved.ref != ref:
            r = _set(r, key, resolved.ref)
    return LoadedRecipe(r, loaded.source, loaded.overrides), inputs


def _unfinished_run(ref: str, runs_root: Path | None) -> str | None:
    """The id of the run a `run:` reference names when that run exists and has not ended (queued or training)."""
    if not ref.startswith(RUN_PREFIX):
        return None
    try:
        view = RunStore(runs_root or default_runs_dir()).get(ref[len(RUN_PREFIX):])
    except ReinsError:
        return None
    return None if view.ended else view.id


def _refs(r) -> list[tuple[str, str]]:  # noqa: ANN001
    """(setting, model reference) for every model the recipe loads; a chat judge's `model` is an API name."""
    out = []
    for key in MODEL_REFS:
        ref = _get(r, key)
        if key.startswith("report.judge.") and _get(r, "report.judge.kind") == "openai":
            continue
        if isinstance(ref, str) and ref:
            out.append((key, ref))
    return out


def _model_refs(r) -> list[str]:  # noqa: ANN001
    return [ref for _, ref in _refs(r)]


def prepare(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (),
            runs_root: Path | None = None, pending: list[str] | None = None) -> tuple[LoadedRecipe, dict[str, str]]:
    """Everything `run` checks before it writes anything: recipe, models, data. Raises ReinsError on bad input.
    `pending` (a queued run): see `resolve_inputs`."""
    loaded, inputs = resolve_inputs(load_recipe(recipe, overrides), runs_root, pending)
    check_data(loaded.recipe)
    check_reward_funcs(getattr(loaded.recipe.method, "reward_funcs", []))
    return loaded, inputs


@dataclass(frozen=True)
class QueueRequest:
    """`reins run --queue`: the run waits in the store's queue; higher `priority` starts first."""

    priority: int = 0


def launch(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (), name: str | None = None,
           runs_dir: Path | None = None, gpu_memory_gib: float | None = None,
           pipeline: dict | None = None, run_id: str | None = None, queue: QueueRequest | None = None,
           devices: Sequence[int] | None = None, extra: dict[str, Any] | None = None) -> RunView:
    """Validate the recipe, write `runs/<id>/`, start the worker detached and return without waiting.

    `run_id` fixes the id (multi-node: every node passes the same one; machine rank 0 writes the run directory,
    the other machines start their share of the processes against it). With `queue`, the run is written `queued`
    instead and the store's scheduler starts it when resources allow (the caller starts the scheduler). `devices`
    pins the run to GPU ids; `extra` adds fields to run.json (a sweep's membership)."""
    root = runs_dir or default_runs_dir()
    if run_id is not None and not RUN_ID_PATTERN.fullmatch(run_id):
        raise RecipeError(f"--run-id {run_id!r} must be letters, digits, '.', '_' or '-' (at most 128, no '/').")
    check_gpu_memory(gpu_memory_gib)
    after: list[str] | None = [] if queue else None
    loaded, inputs = prepare(recipe, overrides, root, after)
    r = loaded.recipe
    missing = missing_package_problems(r)
    if missing:  # the worker would fail at its first import, minutes in
        raise RecipeError("This run needs packages that are not installed here:", problems=missing)
    if queue and r.distributed.num_machines > 1:
        raise RecipeError("--queue places runs on this machine's GPUs; a run over several machines is scheduled by "
                          "SLURM (`reins export slurm`) or started on each node with `reins run --run-id`.")
    if run_id is not None and r.distributed.machine_rank > 0:
        return _join_as_secondary(r, root / run_id, root)
    gpus = read_gpus()  # one NVML read per launch: the estimate's GPU size, the bitsandbytes check, placement
    detected = gpus[0].total_gib if gpus else None
    gpu = gpu_memory_gib or detected
    if r.model.quantization != "none" and detected is None:
        raise RecipeError(
            f"model.quantization={r.model.quantization} loads the weights with bitsandbytes, which needs an NVIDIA "
            "GPU, and none was found on this machine. Use --set model.quantization=none here, or run on a GPU."
        )
    r = _pin_devices(r, devices, gpus)
    display = name or f"{loaded.name}-{Path(r.model.name).name}"
    if run_id is not None:
        rd = RunDir(root / run_id)
        try:
            rd.path.mkdir(parents=True)
        except FileExistsError:
            raise RecipeError(f"Run {run_id} already exists in {root}; pick another --run-id.") from None
    else:
        rd = RunDir(_unique_dir(root, make_run_id(display)))

    rd.recipe.write_text(redact(
        f"# Resolved recipe of run {rd.id} (from {loaded.source}"
        + (f", overrides: {' '.join(loaded.overrides)}" if loaded.overrides else "")
        + ")\n" + dump_recipe(r)
    ))
    est = estimate(r, _model_config(r.model.name, root), gpu)
    write_json_atomic(rd.estimate, est.to_dict())
    cmd = distributed.worker_command(rd.path, distributed.write_launch_files(r, rd))
    n_gpus = distributed.resolve_num_processes(r)
    warnings = recipe_warnings(r, root)
    placed: tuple[int, ...] | None = tuple(devices) if devices else None
    if queue is None and placed is None and gpus:
        from engine.queue.direct import devices_for_direct_run

        placed, note = devices_for_direct_run(root, rd.id, n_gpus, est.total_gib, gpus)
        if note:
            warnings.append(note)
    rd.update(
        id=rd.id, kind="train", name=display, method=r.method.name, model=r.model.name,
        recipe_source=str(loaded.source),
        overrides=[redact(o) for o in loaded.overrides], created=now_iso(), host=socket.gethostname(),
        argv=[shlex.quote(a) for a in cmd], status="queued" if queue else "created", inputs=inputs,
        settings=key_settings(r.model_dump(mode="json")),  # the Runs table's "key settings", without reading YAML
        parents=sorted({ref[len(RUN_PREFIX):] for ref in _model_refs(r) if ref.startswith(RUN_PREFIX)}),
        **({"pipeline": pipeline} if pipeline else {}),
        data_files=data_files(r.data),  # content hashes: two runs share data when their hashes match
        warnings=warnings, need_gib=round(est.total_gib, 3), cwd=os.getcwd(),
        **({"devices": list(placed)} if placed is not None and not queue else {}),
        **({"queue": _queue_record(queue, n_gpus, devices, after or [])} if queue else {}),
        **(extra or {}),
    )
    with EventWriter(rd.events) as ev:
        if queue:
            ev.status("queued")
            return RunStore(root).get(rd.id)
        ev.status("created")
        ev.status("starting")  # before the worker exists, so it always precedes the worker's `running`

    start_worker(rd, cmd, placed)
    return RunStore(root).get(rd.id)


def _queue_record(queue: QueueRequest, n_gpus: int, devices: Sequence[int] | None, after: list[str]) -> dict:
    """run.json's `queue` of a queued run (see engine/queue/entries.py)."""
    return {"priority": queue.priority, "seq": time.time(), "submitted": now_iso(), "gpus": n_gpus,
            "devices": list(devices) if devices else None, "after": sorted(set(after))}


def _pin_devices(r, devices: Sequence[int] | None, gpus: list) -> Any:  # noqa: ANN001
    """Check `--devices` against this machine's GPUs; one process per pinned GPU."""
    if not devices:
        return r
    known = [g.index for g in gpus]
    if not gpus:
        raise RecipeError(f"--devices {','.join(map(str, devices))} pins the run to GPUs, and this machine has none "
                          "(NVML sees no NVIDIA GPU).")
    problems = [f"GPU {d} does not exist (GPUs here: {', '.join(map(str, known))})" for d in devices if d not in known]
    if len(set(devices)) != len(devices):
        problems.append("a GPU is named twice")
    n = r.distributed.num_processes
    if n not in (1, "auto", len(devices)):
        problems.append(f"distributed.num_processes is {n} but {len(devices)} GPUs are pinned; one process per GPU")
    if problems:
        raise RecipeError("--devices cannot be used:", problems=problems)
    return _set(r, "distributed.num_processes", len(devices))


def _model_config(ref: str, root: Path, depth: int = 0) -> dict[str, Any]:
    """The architecture of the model a run trains, for its estimate; for a queued run whose model is the output of
    a run that has not finished yet, the architecture that run starts from (its output has the same one)."""
    pending = _unfinished_run(ref, root) if depth < 8 else None
    if pending is not None:
        return _model_config(str(RunStore(root).get(pending).record.get("model") or ""), root, depth + 1)
    return resolve_model(ref, root).config()


def start_queued(rd: RunDir, devices: Sequence[int], runs_root: Path, claim: dict[str, Any]) -> int:
    """Start a queued run on `devices` (the scheduler, under the queue lock): pin the inputs it waited for, write
    its launch files again (a fresh rendezvous port), record the claim, then start its worker. Raises ReinsError
    when an input it waited for cannot be used; the caller then fails the run."""
    record = rd.read()
    loaded, inputs = prepare(rd.recipe, (), runs_root)
    config = distributed.write_launch_files(loaded.recipe, rd)
    queue = {**(record.get("queue") or {}), "started": now_iso(), "claim": claim}
    rd.update(status="starting", devices=list(devices), inputs=inputs, queue=queue)
    with EventWriter(rd.events) as ev:
        ev.status("starting")
    return start_worker(rd, distributed.worker_command(rd.path, config), tuple(devices), record.get("cwd"))


def start_worker(rd: RunDir, cmd: list[str], devices: Sequence[int] | None = None, cwd: str | None = None) -> int:
    """Start `cmd` for run `rd` detached and record its pid in run.json; returns the pid. Used by launch, the
    queue's scheduler and resume. `devices`: the GPU ids it may see (CUDA_VISIBLE_DEVICES)."""
    env = {"CUDA_VISIBLE_DEVICES": ",".join(map(str, devices))} if devices else {}
    proc = _spawn(cmd, rd.stdout, rd.path, env, cwd)
    rd.update(status="starting", pid=proc.pid, pid_start=process_start_ticks(proc.pid))
    return proc.pid


def _spawn(cmd: list[str], log_path: Path, run_dir: Path, extra_env: dict[str, str] | None = None,
           cwd: str | None = None) -> subprocess.Popen:
    """Start `cmd` detached: its own session, stdin closed, output appended to `log_path`, no secrets in its
    environment. `cwd`: where the run was submitted (a queued run starts from the scheduler's process)."""
    env = {**worker_env(), "PYTHONUNBUFFERED": "1", "REINS_RUN_DIR": str(run_dir), **(extra_env or {})}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    # accelerate launch pins OMP_NUM_THREADS=1 unless it is set: a CPU run would then use one core of many
    # (1.6× slower per step on 2 cores). Share the cores among this machine's processes instead.
    env.setdefault("OMP_NUM_THREADS", str(distributed.cpu_threads_per_process(cmd)))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=cwd if cwd and Path(cwd).is_dir() else os.getcwd(), env=env, close_fds=True,
        )
    # Reap the child when it ends so a long-lived parent (the TUI) never keeps a zombie that looks alive.
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
    return proc


def _join_as_secondary(r, path: Path, root: Path, wait_s: float = 600.0) -> RunView:  # noqa: ANN001
    """Machine rank > 0 of a multi-node run: wait for rank 0's run directory, then start this node's processes
    with its own accelerate config; rank 0 alone writes run.json and events."""
    import time

    rd = RunDir(path)
    deadline = time.monotonic() + wait_s
    # recipe.yaml is written before run.json: wait for both, or the lookup below can miss a run that exists.
    while not (rd.recipe.is_file() and rd.run_json.is_file()):
        if time.monotonic() > deadline:
            raise RecipeError(f"Run directory {path} did not appear within {wait_s:.0f}s: is machine rank 0 running "
                              "with the same --run-id on the same shared --runs-dir?")
        time.sleep(1.0)
    k = r.distributed.machine_rank
    config = distributed.write_launch_files(r, rd, config=rd.accelerate_config_rank(k))
    _spawn(distributed.worker_command(rd.path, config), rd.stdout_rank(k), rd.path)
    return RunStore(root).get(rd.id)

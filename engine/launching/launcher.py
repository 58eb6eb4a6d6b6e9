"""Launching a run: validate, estimate, write the run directory, start the worker detached, return at once."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

from engine.errors import RecipeError
from engine.estimate.fit import estimate
from engine.estimate.memory import check_gpu_memory, detect_gpu_memory_gib
from engine.launching import distributed
from engine.launching.preflight import recipe_warnings
from engine.launching.secrets import redact, worker_env
from engine.recipe.data import check_data
from engine.recipe.keysettings import key_settings
from engine.recipe.loading import LoadedRecipe, dump_recipe, load_recipe
from engine.recipe.model_refs import resolve_model
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


def resolve_inputs(loaded: LoadedRecipe, runs_root: Path | None = None) -> tuple[LoadedRecipe, dict[str, str]]:
    """Check every model the recipe names exists here; pin `run:<prefix>` references to full run ids.

    Returns the recipe with pinned references and {setting: resolved path} for the run's record."""
    r = loaded.recipe
    inputs: dict[str, str] = {}
    for key, ref in _refs(r):
        resolved = resolve_model(ref, runs_root)
        inputs[key] = str(resolved.path)
        if resolved.ref != ref:
            r = _set(r, key, resolved.ref)
    return LoadedRecipe(r, loaded.source, loaded.overrides), inputs


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
            runs_root: Path | None = None) -> tuple[LoadedRecipe, dict[str, str]]:
    """Everything `run` checks before it writes anything: recipe, models, data. Raises ReinsError on bad input."""
    loaded, inputs = resolve_inputs(load_recipe(recipe, overrides), runs_root)
    check_data(loaded.recipe)
    return loaded, inputs


def launch(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (), name: str | None = None,
           runs_dir: Path | None = None, gpu_memory_gib: float | None = None,
           pipeline: dict | None = None, run_id: str | None = None) -> RunView:
    """Validate the recipe, write `runs/<id>/`, start the worker detached and return without waiting.

    `run_id` fixes the id (multi-node: every node passes the same one; machine rank 0 writes the run directory,
    the other machines start their share of the processes against it)."""
    from engine.paths import runs_dir as default_runs_dir

    root = runs_dir or default_runs_dir()
    if run_id is not None and not RUN_ID_PATTERN.fullmatch(run_id):
        raise RecipeError(f"--run-id {run_id!r} must be letters, digits, '.', '_' or '-' (at most 128, no '/').")
    check_gpu_memory(gpu_memory_gib)
    loaded, inputs = prepare(recipe, overrides, root)
    r = loaded.recipe
    if run_id is not None and r.distributed.machine_rank > 0:
        return _join_as_secondary(r, root / run_id, root)
    detected = detect_gpu_memory_gib()  # one NVML read per launch: the estimate's GPU size and the bitsandbytes check
    gpu = gpu_memory_gib or detected
    if r.model.quantization != "none" and detected is None:
        raise RecipeError(
            f"model.quantization={r.model.quantization} loads the weights with bitsandbytes, which needs an NVIDIA "
            "GPU, and none was found on this machine. Use --set model.quantization=none here, or run on a GPU."
        )
    model = resolve_model(r.model.name, root)
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
    est = estimate(r, model.config(), gpu)
    write_json_atomic(rd.estimate, est.to_dict())
    cmd = distributed.worker_command(rd.path, distributed.write_launch_files(r, rd))
    rd.update(
        id=rd.id, kind="train", name=display, method=r.method.name, model=r.model.name,
        recipe_source=str(loaded.source),
        overrides=[redact(o) for o in loaded.overrides], created=now_iso(), host=socket.gethostname(),
        argv=[shlex.quote(a) for a in cmd], status="created", inputs=inputs,
        settings=key_settings(r.model_dump(mode="json")),  # the Runs table's "key settings", without reading YAML
        parents=sorted({ref[len("run:"):] for ref in _model_refs(r) if ref.startswith("run:")}),
        **({"pipeline": pipeline} if pipeline else {}),
        warnings=recipe_warnings(r, root),
    )
    with EventWriter(rd.events) as ev:
        ev.status("created")
        ev.status("starting")  # before the worker exists, so it always precedes the worker's `running`

    start_worker(rd, cmd)
    return RunStore(root).get(rd.id)


def start_worker(rd: RunDir, cmd: list[str]) -> int:
    """Start `cmd` for run `rd` detached and record its pid in run.json; returns the pid. Used by launch and resume."""
    proc = _spawn(cmd, rd.stdout, rd.path)
    rd.update(status="starting", pid=proc.pid, pid_start=process_start_ticks(proc.pid))
    return proc.pid


def _spawn(cmd: list[str], log_path: Path, run_dir: Path) -> subprocess.Popen:
    """Start `cmd` detached: its own session, stdin closed, output appended to `log_path`, no secrets in its
    environment."""
    env = {**worker_env(), "PYTHONUNBUFFERED": "1", "REINS_RUN_DIR": str(run_dir)}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    # accelerate launch pins OMP_NUM_THREADS=1 unless it is set: a CPU run would then use one core of many
    # (1.6× slower per step on 2 cores). Share the cores among this machine's processes instead.
    env.setdefault("OMP_NUM_THREADS", str(distributed.cpu_threads_per_process(cmd)))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=os.getcwd(), env=env, close_fds=True,
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

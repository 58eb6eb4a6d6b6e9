"""Launching a run: validate, estimate, write the run directory, start the worker detached, return at once."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from engine.data import check_data
from engine.errors import RecipeError
from engine.events import EventWriter
from engine.models import resolve_model
from engine.recipes import LoadedRecipe, dump_recipe, load_recipe
from engine.rundir import RunDir, now_iso, process_start_ticks, write_json_atomic
from engine.secrets import redact, worker_env
from engine.store import RunStore, RunView
from engine.vram import detect_gpu_memory_gib, estimate


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


def worker_command(run_dir: Path, num_processes: int) -> list[str]:
    """The detached command: `accelerate launch … -m engine.worker <run_dir>` with this interpreter.

    Test seam: `REINS_TEST_WORKER_MODULE=some.module` runs `python -m some.module <run_dir>` instead, so tests of
    the launcher and the run store can start many cheap workers through this same code path."""
    test_module = os.environ.get("REINS_TEST_WORKER_MODULE")
    if test_module:
        return [sys.executable, "-m", test_module, str(run_dir)]
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--num_processes", str(num_processes), "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--quiet",
        "-m", "engine.worker", str(run_dir),
    ]


def prepare(recipe: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoadedRecipe:
    """Everything `run` checks before it writes anything: recipe, model, data. Raises ReinsError on bad input."""
    loaded = load_recipe(recipe, overrides)
    resolve_model(loaded.recipe.model.name)
    check_data(loaded.recipe)
    return loaded


def launch(recipe: str | Path, overrides: list[str] | tuple[str, ...] = (), name: str | None = None,
           runs_dir: Path | None = None, gpu_memory_gib: float | None = None) -> RunView:
    """Validate the recipe, write `runs/<id>/`, start the worker detached and return without waiting."""
    from engine.paths import runs_dir as default_runs_dir

    loaded = prepare(recipe, overrides)
    r = loaded.recipe
    gpu = gpu_memory_gib or detect_gpu_memory_gib()
    if r.model.quantization != "none" and detect_gpu_memory_gib() is None:
        raise RecipeError(
            f"model.quantization={r.model.quantization} loads the weights with bitsandbytes, which needs an NVIDIA "
            "GPU, and none was found on this machine. Use --set model.quantization=none here, or run on a GPU."
        )
    model = resolve_model(r.model.name)
    root = runs_dir or default_runs_dir()
    display = name or f"{loaded.name}-{Path(r.model.name).name}"
    rd = RunDir(_unique_dir(root, make_run_id(display)))

    rd.recipe.write_text(redact(
        f"# Resolved recipe of run {rd.id} (from {loaded.source}"
        + (f", overrides: {' '.join(loaded.overrides)}" if loaded.overrides else "")
        + ")\n" + dump_recipe(r)
    ))
    est = estimate(r, model.config(), gpu)
    write_json_atomic(rd.estimate, est.to_dict())
    cmd = worker_command(rd.path, r.distributed.num_processes)
    rd.update(
        id=rd.id, name=display, method=r.method.name, model=r.model.name, recipe_source=str(loaded.source),
        overrides=[redact(o) for o in loaded.overrides], created=now_iso(), host=socket.gethostname(),
        argv=[shlex.quote(a) for a in cmd], status="created",
    )
    with EventWriter(rd.events) as ev:
        ev.status("created")
        ev.status("starting")  # before the worker exists, so it always precedes the worker's `running`

    start_worker(rd, cmd)
    return RunStore(root).get(rd.id)


def start_worker(rd: RunDir, cmd: list[str]) -> int:
    """Start `cmd` for run `rd` detached (own session, stdin closed, output appended to stdout.log, no secrets in
    its environment) and record its pid; returns the pid. Used by launch and by resume."""
    env = {**worker_env(), "PYTHONUNBUFFERED": "1", "REINS_RUN_DIR": str(rd.path)}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    with open(rd.stdout, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=os.getcwd(), env=env, close_fds=True,
        )
    # Reap the child when it ends so a long-lived parent (the TUI) never keeps a zombie that looks alive.
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
    rd.update(status="starting", pid=proc.pid, pid_start=process_start_ticks(proc.pid))
    return proc.pid

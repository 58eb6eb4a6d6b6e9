"""The queue's scheduler: one detached process per run store that starts queued runs when resources allow.

It is started on demand (`ensure_scheduler`, called by every command that queues or lists work) in its own session,
like a pipeline driver, and holds `runs/queue/scheduler.lock` for its lifetime: the kernel releases that lock when
the process dies, however it dies, so there is never a second scheduler and never a stale one. Each poll it reads
the store, the settings and the GPUs, and under the queue lock starts queued runs in order while they fit. It exits
when nothing is queued (or the queue is paused). Killing it loses nothing: queued runs stay queued, started runs keep
running, and a run it had taken but not yet started goes back to the queue when the next scheduler starts.

    python -m engine.queue.scheduler RUNS_DIR
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from engine.errors import ReinsError
from engine.estimate.gpus import Gpu, read_gpus
from engine.launching.launcher import start_queued
from engine.launching.secrets import worker_env
from engine.queue.entries import active, dependencies, end_queued, holdings, queue_lock, queued, request_for
from engine.queue.files import QueueFiles
from engine.queue.placement import Holding, place
from engine.queue.settings import QueueSettings, read_settings
from engine.runs.events import EventWriter
from engine.runs.process import pid_alive, process_start_ticks, processes_with_env, session_of
from engine.runs.rundir import RunDir, now_iso, write_json_atomic
from engine.runs.store import RunStore, RunView


def scheduler_alive(runs_root: Path) -> bool:
    """Whether a scheduler holds this store's scheduler lock now."""
    files = QueueFiles(runs_root)
    if not files.scheduler_lock.exists():
        return False
    lock = FileLock(str(files.scheduler_lock), timeout=0, is_singleton=False)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def scheduler_info(runs_root: Path) -> dict[str, Any]:
    """scheduler.json ({} when no scheduler ever ran) with `alive` added."""
    import json

    try:
        info = json.loads(QueueFiles(runs_root).scheduler.read_text())
    except (OSError, ValueError):
        info = {}
    return {**(info if isinstance(info, dict) else {}), "alive": scheduler_alive(runs_root)}


def ensure_scheduler(runs_root: Path) -> int | None:
    """Start this store's scheduler when work is queued and none runs (and the queue is not paused); returns the
    new scheduler's pid, or None when none was needed."""
    runs_root = Path(runs_root)
    if not runs_root.is_dir() or scheduler_alive(runs_root):
        return None
    try:
        if read_settings(runs_root).paused:
            return None
    except ReinsError:
        return None  # `reins queue` shows the broken settings file; a scheduler could not read it either
    if not queued(RunStore(runs_root).refresh()):
        return None
    files = QueueFiles(runs_root)
    files.ensure()
    with open(files.log, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "engine.queue.scheduler", str(runs_root)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**worker_env(), "PYTHONUNBUFFERED": "1"})
    import threading

    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
    return proc.pid


def serve(runs_root: Path, read: Callable[[], list[Gpu]] = read_gpus) -> int:
    """The scheduler's life: take the lock (or leave at once if another scheduler has it), recover interrupted
    starts, then poll until the queue is empty or paused."""
    files = QueueFiles(runs_root)
    files.ensure()
    lock = FileLock(str(files.scheduler_lock), timeout=0, is_singleton=False)
    store = RunStore(runs_root)
    while True:
        try:
            lock.acquire()
        except Timeout:
            return 0
        me = {"pid": os.getpid(), "pid_start": process_start_ticks(os.getpid()), "host": socket.gethostname(),
              "started": now_iso()}
        try:
            write_json_atomic(files.scheduler, me)
            recover(store)
            _poll(store, me, read)
        finally:
            write_json_atomic(files.scheduler, {**me, "ended": now_iso()})
            lock.release()
        # A run queued just as this scheduler decided to leave saw the lock held and started none: look once more.
        if not _has_work(store):
            return 0


def _has_work(store: RunStore) -> bool:
    try:
        return not read_settings(store.root).paused and bool(queued(store.refresh()))
    except ReinsError:
        return False


def _poll(store: RunStore, me: dict[str, Any], read: Callable[[], list[Gpu]]) -> None:
    while True:
        try:
            settings = read_settings(store.root)
        except ReinsError as exc:
            _log(f"cannot read the queue settings, starting nothing: {exc}")
            return
        if settings.paused or not queued(store.refresh()):
            return
        for run_id, devices in step(store, settings, read(), me):
            where = f" on GPU {','.join(map(str, devices))}" if devices else ""
            _log(f"started {run_id}{where}")
        time.sleep(settings.poll_s)


def step(store: RunStore, settings: QueueSettings, gpus: Sequence[Gpu],
         claim: dict[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    """One look at the queue: start queued runs in order while they fit; returns (run id, GPUs) of those started.
    The first run that has to wait for resources holds back the runs behind it (strict order); a run waiting for
    another run's output does not, and a run that can never start here fails with the reason."""
    started: list[tuple[str, tuple[int, ...]]] = []
    with queue_lock(store.root):
        views = store.refresh()
        held = holdings(views, gpus)
        alive = len(active(views))
        for view in queued(views):
            waiting, never = dependencies(view, store)
            if not never and not waiting:
                req = request_for(view)
                decision = place(req, gpus, held, settings, alive)
                never = decision.never
                if decision.wait:
                    _note(view, decision.wait)
                    break
            if never:
                end_queued(view, "failed", f"cannot start: {never}")
                _log(f"{view.id} cannot start: {never}")
                continue
            if waiting:
                _note(view, f"waiting for {', '.join(waiting)} to complete")
                continue
            if _start(view, decision.devices, store.root, claim):
                started.append((view.id, decision.devices))
                held.append(Holding(view.id, decision.devices, req.need_gib))
                alive += 1
    return started


def _start(view: RunView, devices: tuple[int, ...], runs_root: Path, claim: dict[str, Any]) -> bool:
    rd = view.dir
    try:
        start_queued(rd, devices, runs_root, {"pid": claim["pid"], "pid_start": claim["pid_start"]})
        return True
    except ReinsError as exc:  # an input it waited for is unusable: nothing was started
        end_queued(view, "failed", f"cannot start: {exc}")
    except OSError as exc:  # the worker could not be started (disk full, no interpreter)
        with EventWriter(rd.events) as ev:
            ev.status("failed", error=f"the scheduler could not start the worker: {exc}")
        rd.update(status="failed", ended=now_iso(), error=f"the scheduler could not start the worker: {exc}")
    _log(f"{view.id} failed to start")
    return False


def _note(view: RunView, reason: str) -> None:
    """Record why a queued run waits (shown by `reins queue` and the TUI); written only when it changes."""
    q = view.record.get("queue") or {}
    if q.get("waiting") != reason:
        view.dir.update(queue={**q, "waiting": reason})


def recover(store: RunStore) -> list[str]:
    """Runs a dead scheduler took from the queue but did not record as started: adopt the worker if it exists
    (found by its REINS_RUN_DIR), else put the run back in the queue. Returns their ids."""
    fixed = []
    for rd in store.run_dirs():
        record = rd.read()
        claim = (record.get("queue") or {}).get("claim")
        if (not claim or record.get("pid") or record.get("worker_pid")
                or record.get("status") not in ("created", "starting")
                or pid_alive(claim.get("pid"), claim.get("pid_start"))):
            continue
        found = processes_with_env("REINS_RUN_DIR", str(rd.path))
        leader = session_of(found[0]) if found else None
        if leader:
            rd.update(pid=leader, pid_start=process_start_ticks(leader))
            _log(f"{rd.id}: adopted its worker (session {leader}) started by a scheduler that died")
        else:
            _requeue(rd)
            _log(f"{rd.id}: back in the queue (its scheduler died before starting it)")
        fixed.append(rd.id)
    return fixed


def _requeue(rd: RunDir) -> None:
    rd.requeue()
    with EventWriter(rd.events) as ev:
        ev.status("queued", reason="back in the queue: the scheduler that took it stopped before starting it")


def _log(line: str) -> None:
    print(f"{now_iso()} {line}", flush=True)


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1])))

"""The queue as the run store holds it: queued runs in order, the runs holding resources, and changes to the order.

A queued run is an ordinary run folder whose run.json has `status: queued` and a `queue` record (`priority`, `seq`,
`submitted`, `gpus`, `need_gib`, pinned `devices`, `after`: runs it waits for, `cwd`). The folders are the truth:
there is no separate queue file that could disagree with them. Changes to the order and cancellations are made under
the queue lock (`runs/queue/.queue.lock`), which the scheduler also holds while it takes a run from the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.errors import ReinsError
from engine.estimate.gpus import Gpu
from engine.queue.files import QueueFiles
from engine.queue.placement import Holding, Request
from engine.runs.events import TERMINAL_STATUSES, EventWriter
from engine.runs.process import group_pids, run_group
from engine.runs.rundir import now_iso
from engine.runs.store import RunStore, RunView

ACTIVE = ("created", "starting", "running")  # statuses of a run that holds (or is about to hold) resources
CANCELLED = "cancelled from the queue before it started"


def queue_lock(runs_root: Path) -> FileLock:
    """The lock under which a run is taken from the queue, cancelled or moved."""
    return FileLock(str(QueueFiles(runs_root).ensure() / ".queue.lock"), timeout=60)


def order_key(view: RunView) -> tuple[float, float, str]:
    """Higher priority first, then the order of submission (`seq`, which moving a run up changes)."""
    q = view.record.get("queue") or {}
    return -float(q.get("priority") or 0), float(q.get("seq") or 0.0), view.id


def queued(views: Sequence[RunView]) -> list[RunView]:
    """The queued runs, first to start first."""
    return sorted((v for v in views if v.status == "queued"), key=order_key)


def active(views: Sequence[RunView]) -> list[RunView]:
    """Runs that hold (or are about to hold) a GPU or a CPU slot: direct, pipeline and queued-then-started alike."""
    return [v for v in views if v.status in ACTIVE]


def devices_of(record: dict[str, Any], gpus: int) -> tuple[int, ...]:
    """The GPUs a run holds: those it was given, else (a run started before the queue existed, or with
    CUDA_VISIBLE_DEVICES set by the user to something else than ids) the first `num_processes` of the machine."""
    given = record.get("devices")
    if isinstance(given, list) and all(isinstance(d, int) for d in given):
        return tuple(given)
    n = int((record.get("queue") or {}).get("gpus") or 1)
    return tuple(range(min(n, gpus) if gpus else 0))


def holdings(views: Sequence[RunView], gpus: Sequence[Gpu]) -> list[Holding]:
    """What each active run holds, with its processes (NVML lists GPU memory by pid) when there are GPUs."""
    out = []
    for v in active(views):
        pids = frozenset()
        if gpus:
            pids = group_pids(run_group(v.record)) | {p for p in (v.record.get("worker_pid"),) if p}
        need = v.record.get("need_gib")
        out.append(Holding(v.id, devices_of(v.record, len(gpus)), float(need) if need is not None else None, pids))
    return out


def request_for(view: RunView) -> Request:
    q = view.record.get("queue") or {}
    pinned = q.get("devices")
    need = view.record.get("need_gib")
    return Request(view.id, int(q.get("gpus") or 1), float(need) if need is not None else None,
                   tuple(pinned) if pinned else None)


def dependencies(view: RunView, store: RunStore) -> tuple[list[str], str | None]:
    """(runs it still waits for, why it can never start) from its `after` list: a run it needs that ended without
    completing means it never can."""
    waiting: list[str] = []
    for run_id in (view.record.get("queue") or {}).get("after") or []:
        try:
            dep = store.get(run_id)
        except ReinsError:
            return [], f"the run it needs, {run_id}, no longer exists"
        if dep.status == "completed":
            continue
        if dep.status in TERMINAL_STATUSES:
            return [], f"the run it needs, {dep.id}, ended {dep.status}"
        waiting.append(dep.id)
    return waiting, None


def end_queued(view: RunView, status: str, reason: str) -> bool:
    """End a run that is still queued (cancelled: `stopped`; unable to start: `failed`). False if it has left the
    queue meanwhile. Call under the queue lock."""
    rd = view.dir
    if rd.read().get("status") != "queued":
        return False
    field = "error" if status == "failed" else "reason"
    with EventWriter(rd.events) as ev:
        ev.status(status, **{field: reason})
    rd.update(status=status, ended=now_iso(), **{field: reason})
    return True


@dataclass(frozen=True)
class QueueRow:
    """One line of `reins queue`: a queued run (with its position) or a run holding resources (with its GPUs)."""

    view: RunView
    position: int | None  # 1-based place in the queue; None for a run already started
    devices: tuple[int, ...]
    waiting: str | None  # why a queued run has not started (the scheduler's last reason)

    def to_dict(self) -> dict[str, Any]:
        q = self.view.record.get("queue") or {}
        return {"id": self.view.id, "name": self.view.record.get("name"), "status": self.view.status,
                "position": self.position, "priority": q.get("priority", 0), "devices": list(self.devices),
                "need_gib": self.view.record.get("need_gib"), "sweep": (self.view.record.get("sweep") or {}).get("id"),
                "after": q.get("after") or [], "waiting": self.waiting, "submitted": q.get("submitted")}


def listing(views: Sequence[RunView], gpus: int) -> list[QueueRow]:
    """Running work first (what holds the GPUs), then the queue in order."""
    rows = [QueueRow(v, None, devices_of(v.record, gpus) if v.record.get("devices") is not None or gpus else (), None)
            for v in active(views)]
    rows += [QueueRow(v, i, tuple((v.record.get("queue") or {}).get("devices") or ()),
                      (v.record.get("queue") or {}).get("waiting"))
             for i, v in enumerate(queued(views), 1)]
    return rows


def cancel(store: RunStore, ref: str) -> RunView:
    """Take a queued run out of the queue (it ends `stopped`). A run that has started must be stopped instead."""
    view = store.get(ref)
    with queue_lock(store.root):
        if view.status != "queued" or not end_queued(store.get(view.id), "stopped", CANCELLED):
            raise ReinsError(f"Run {view.id} is not queued (it is {store.get(view.id).status}); "
                             f"`reins stop {view.id}` stops a run that has started.")
    return store.get(view.id)


def set_priority(store: RunStore, ref: str, priority: int | None = None, up: bool = False) -> RunView:
    """Give a queued run a priority (higher starts first), or (`up`) move it one place up the queue."""
    with queue_lock(store.root):
        order = queued(store.refresh())
        view = store.get(ref)
        if view.id not in [v.id for v in order]:
            raise ReinsError(f"Run {view.id} is not queued (it is {view.status}); only queued runs can be moved.")
        q = dict(view.record.get("queue") or {})
        if up:
            i = [v.id for v in order].index(view.id)
            if i == 0:
                return view
            ahead = order[i - 1].record.get("queue") or {}
            before = order[i - 2].record.get("queue") or {} if i >= 2 else None
            q["priority"] = ahead.get("priority", 0)
            same = before is not None and before.get("priority", 0) == q["priority"]
            # Between the two runs ahead of it: it passes one run and no other.
            q["seq"] = (before["seq"] + ahead["seq"]) / 2 if same else ahead["seq"] - 1.0
        else:
            q["priority"] = int(priority or 0)
        view.dir.update(queue=q)
    return store.get(view.id)

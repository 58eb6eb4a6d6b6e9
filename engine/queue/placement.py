"""Where a run may start now: GPUs with room for its estimate, given what Reins' runs and other users' processes hold.

Pure functions over NVML readings (`engine.estimate.gpus.Gpu`) and the runs alive in the store, so the rules are
tested with made-up machines. Memory a GPU reports as used by processes that are not Reins runs' (another user's
job, a notebook) is respected; memory Reins' own runs will take is counted from their estimates, also before they
have allocated it (a run that has just started shows almost nothing in NVML yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.estimate.gpus import Gpu
from engine.queue.settings import QueueSettings


@dataclass(frozen=True)
class Holding:
    """A Reins run alive now: the GPUs it was given, the memory its estimate says it needs on each, its processes."""

    run_id: str
    devices: tuple[int, ...]
    need_gib: float | None
    pids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Request:
    """A run that wants to start: how many GPUs, how much memory on each (None: unknown), or pinned GPU ids."""

    run_id: str
    gpus: int = 1
    need_gib: float | None = None
    devices: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Decision:
    """Start on `devices` (empty on a CPU-only machine), or `wait` (it may fit later), or `never` (it cannot)."""

    devices: tuple[int, ...] = ()
    wait: str | None = None
    never: str | None = None

    @property
    def start(self) -> bool:
        return self.wait is None and self.never is None


@dataclass(frozen=True)
class GpuRoom:
    """One GPU as the queue sees it: memory other users hold, Reins' runs on it and what their estimates commit."""

    gpu: Gpu
    foreign_gib: float
    runs: tuple[Holding, ...]
    committed_gib: float

    @property
    def index(self) -> int:
        return self.gpu.index

    @property
    def free_gib(self) -> float:
        """Memory left for a new run: the GPU less other users' processes less what Reins' runs take or will take."""
        return self.gpu.total_gib - self.foreign_gib - self.committed_gib

    def describe(self) -> str:
        held = f", {len(self.runs)} Reins run{'s' if len(self.runs) != 1 else ''}" if self.runs else ""
        other = f", {self.foreign_gib:.1f} GiB other users'" if self.foreign_gib >= 0.5 else ""
        return f"GPU{self.index} {max(0.0, self.free_gib):.1f}/{self.gpu.total_gib:.1f} GiB free{held}{other}"


def rooms(gpus: Sequence[Gpu], holdings: Sequence[Holding]) -> list[GpuRoom]:
    """Each GPU's room. A Reins run commits the larger of its estimate and what NVML shows its processes using; the
    rest of the used memory is other users' (memory NVML cannot attribute, e.g. inside a container where it lists no
    processes, is taken as Reins' up to its runs' estimates)."""
    reins_pids = frozenset().union(*(h.pids for h in holdings)) if holdings else frozenset()
    out = []
    for g in gpus:
        here = tuple(h for h in holdings if g.index in h.devices)
        listed = {pid: gib for pid, gib in g.processes}
        other_listed = sum(gib for pid, gib in listed.items() if pid not in reins_pids)
        committed = 0.0
        unseen = 0.0  # estimates of Reins runs here whose processes NVML does not list (not started, or hidden)
        for h in here:
            actual = sum(listed.get(pid, 0.0) for pid in h.pids)
            need = h.need_gib or 0.0
            committed += max(need, actual)
            if actual == 0.0:
                unseen += need
        reins_actual = sum(gib for pid, gib in listed.items() if pid in reins_pids)
        unattributed = max(0.0, g.used_gib - reins_actual - other_listed)
        foreign = other_listed + max(0.0, unattributed - unseen)
        out.append(GpuRoom(g, foreign, here, committed))
    return out


def place(req: Request, gpus: Sequence[Gpu], holdings: Sequence[Holding], settings: QueueSettings,
          alive: int) -> Decision:
    """Whether `req` may start now and on which GPUs. `alive` counts every Reins run alive in the store (direct and
    pipeline runs too), for the concurrency cap."""
    cap = settings.max_running or (None if gpus else 1)
    if not gpus and req.devices:
        return Decision(never=f"it is pinned to GPU {_ids(req.devices)}, and this machine has no GPU")
    if cap is not None and alive >= cap:
        return Decision(wait=_cap_reason(alive, cap))
    if not gpus:
        return Decision()
    known = {g.index for g in gpus}
    if req.devices:
        missing = [d for d in req.devices if d not in known]
        if missing:
            return Decision(never=f"GPU {_ids(missing)} does not exist here (GPUs: {_ids(sorted(known))})")
    elif req.gpus > len(gpus):
        return Decision(never=f"it needs {req.gpus} GPUs and this machine has {len(gpus)}")
    largest = max(g.total_gib for g in gpus)
    if req.need_gib is not None and req.need_gib > largest:
        return Decision(never=f"its estimate is {req.need_gib:.1f} GiB per GPU and the largest GPU here has "
                              f"{largest:.1f} GiB (see `reins estimate` for what would make it fit)")
    all_rooms = rooms(gpus, holdings)
    fitting = [r for r in all_rooms if _fits(req, r, settings)]
    if req.devices:
        chosen = [r for r in all_rooms if r.index in req.devices]
        if all(r in fitting for r in chosen):
            return Decision(devices=tuple(req.devices))
        return Decision(wait="waiting for " + "; ".join(r.describe() for r in chosen if r not in fitting))
    # Empty GPUs before shared ones, and among those the tightest fit: whole GPUs stay free for bigger runs.
    fitting.sort(key=lambda r: (len(r.runs), r.free_gib, r.index))
    if len(fitting) >= req.gpus:
        return Decision(devices=tuple(sorted(r.index for r in fitting[: req.gpus])))
    need = f"{req.need_gib:.1f} GiB" if req.need_gib is not None else "a free GPU"
    many = f"{req.gpus} GPUs with {need} each" if req.gpus > 1 else f"a GPU with {need}"
    return Decision(wait=f"waiting for {many} ({'; '.join(r.describe() for r in all_rooms)})")


def _fits(req: Request, room: GpuRoom, settings: QueueSettings) -> bool:
    need = req.need_gib
    if not room.runs:
        # Unknown need: only a GPU nobody else is using (less than a tenth of it taken) is safe to take.
        return need <= room.free_gib if need is not None else room.foreign_gib < 0.1 * room.gpu.total_gib
    if not settings.pack or need is None or any(h.need_gib is None for h in room.runs):
        return False
    budget = settings.pack_share * (room.gpu.total_gib - room.foreign_gib)
    return room.committed_gib + need <= budget and need <= room.free_gib


def _cap_reason(alive: int, cap: int) -> str:
    # Short: it is repeated on every waiting row of `reins queue`; how to change the cap is said once, in its header.
    return f"waiting: {alive} run{'s' if alive != 1 else ''} alive, the store allows {cap} at once"


def _ids(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in ids)

"""GPUs for a run started directly (`reins run` without --queue, a pipeline stage): placed by the queue's rules, so
direct and queued runs never land on the same busy GPU unknowingly."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from engine.estimate.gpus import Gpu
from engine.queue.entries import active, holdings
from engine.queue.placement import Request, place, rooms
from engine.queue.settings import QueueSettings, read_settings
from engine.runs.store import RunStore


def devices_for_direct_run(runs_root: Path, run_id: str, n_gpus: int, need_gib: float | None,
                           gpus: Sequence[Gpu]) -> tuple[tuple[int, ...] | None, str | None]:
    """(GPU ids to give the run, a warning to record). A user who set CUDA_VISIBLE_DEVICES chose already: None.
    When no GPU has room, a direct run still starts (the user asked for it now) on the GPUs with the most free
    memory, with a warning that `--queue` would have waited."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return None, None
    views = [v for v in RunStore(runs_root).refresh() if v.id != run_id]
    held = holdings(views, gpus)
    try:
        settings = read_settings(runs_root)
    except Exception:  # noqa: BLE001 - a broken settings file must not stop a direct launch; the queue reports it
        settings = QueueSettings()
    # A direct run ignores the concurrency cap (alive=0): it was asked to start now.
    decision = place(Request(run_id, n_gpus, need_gib), gpus, held, settings, alive=0)
    if decision.start:
        return decision.devices, None
    roomiest = sorted(rooms(gpus, held), key=lambda r: -r.free_gib)[: max(1, n_gpus)]
    chosen = tuple(sorted(r.index for r in roomiest))
    busy = ", ".join(v.id for v in active(views))
    return chosen, (f"started on GPU {','.join(map(str, chosen))} although {decision.wait or decision.never}"
                    + (f" (alive: {busy})" if busy else "") + "; `reins run --queue` waits for room instead")

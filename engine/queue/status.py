"""What `reins queue` and the TUI show: running work and the queue in order, settings, scheduler, GPUs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.estimate.gpus import Gpu, read_gpus
from engine.queue.entries import QueueRow, holdings, listing
from engine.queue.placement import rooms
from engine.queue.settings import QueueSettings, read_settings
from engine.runs.store import RunStore


@dataclass
class QueueStatus:
    """The queue as it is now."""

    rows: list[QueueRow]
    settings: QueueSettings
    scheduler: dict[str, Any]
    gpus: list[Gpu] = field(default_factory=list)
    gpu_notes: list[str] = field(default_factory=list)  # each GPU's room as placement sees it

    @property
    def queued(self) -> list[QueueRow]:
        return [r for r in self.rows if r.position is not None]

    @property
    def running(self) -> list[QueueRow]:
        return [r for r in self.rows if r.position is None]

    def to_dict(self) -> dict[str, Any]:
        return {"running": [r.to_dict() for r in self.running], "queued": [r.to_dict() for r in self.queued],
                "settings": self.settings.model_dump(), "scheduler": self.scheduler, "gpus": self.gpu_notes}


def read_status(runs_root: Path) -> QueueStatus:
    from engine.queue.scheduler import scheduler_info

    views = RunStore(runs_root).refresh()
    gpus = read_gpus()
    notes = [r.describe() for r in rooms(gpus, holdings(views, gpus))] if gpus else []
    return QueueStatus(listing(views, len(gpus)), read_settings(runs_root), scheduler_info(runs_root), gpus, notes)

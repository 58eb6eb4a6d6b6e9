"""Where the queue keeps its files inside a run store (`runs/queue/`): the one place that spells their names."""

from __future__ import annotations

from pathlib import Path


class QueueFiles:
    """Paths of the queue's files under `runs/queue/`; the queued runs themselves are ordinary run folders."""

    def __init__(self, runs_root: Path) -> None:
        self.root = Path(runs_root)
        self.dir = self.root / "queue"

    settings = property(lambda self: self.dir / "settings.yaml")  # store-wide settings, edited by `reins queue set`
    settings_lock = property(lambda self: self.dir / ".settings.lock")
    lock = property(lambda self: self.dir / ".queue.lock")  # held while a run is taken from or moved in the queue
    scheduler_lock = property(lambda self: self.dir / "scheduler.lock")  # held by the live scheduler for its lifetime
    scheduler = property(lambda self: self.dir / "scheduler.json")  # the scheduler's pid, start and last decision
    log = property(lambda self: self.dir / "scheduler.log")

    def ensure(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir

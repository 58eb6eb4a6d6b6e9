"""One run directory: its file layout and `run.json` (locked, atomic, status only moves forward)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.runs.events import STATUSES, TERMINAL_STATUSES
from engine.runs.logs import LogTail, tail_lines

# Per-attempt fields of run.json: `begin_attempt` moves them into `attempts` when a run is resumed.
ATTEMPT_FIELDS = ("attempt", "status", "pid", "pid_start", "worker_pid", "worker_pid_start", "started", "ended",
                  "error", "resume_from", "resume_step")
# What a run does: train a policy (every run so far), generate data, or evaluate a finished run. run.json's `kind`;
# runs written before it existed are training runs.
RUN_KINDS = ("train", "generate", "evaluate")
_ORDER = {s: i for i, s in enumerate(("queued", "created", "starting", "running"))}
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")  # the HF Trainer's checkpoint folders
TRAINER_STATE = "trainer_state.json"  # the HF Trainer's state file inside each checkpoint


class RunDir:
    """Paths inside `runs/<run_id>/` (see docs/ARCHITECTURE.md) and safe updates of `run.json`. The one place that
    spells the names of a run folder's files: everything else asks for them here."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    recipe = property(lambda self: self.path / "recipe.yaml")
    run_json = property(lambda self: self.path / "run.json")
    run_lock = property(lambda self: self.path / ".run.json.lock")
    estimate = property(lambda self: self.path / "estimate.json")
    events = property(lambda self: self.path / "events.jsonl")
    stdout = property(lambda self: self.path / "stdout.log")
    checkpoints = property(lambda self: self.path / "checkpoints")
    final = property(lambda self: self.path / "final")
    report_json = property(lambda self: self.path / "report.json")
    report_md = property(lambda self: self.path / "report.md")
    accelerate_config = property(lambda self: self.path / "accelerate_config.yaml")
    deepspeed_config = property(lambda self: self.path / "deepspeed.json")
    disk_reserve = property(lambda self: self.path / ".disk-reserve")  # ballast freed to record a disk-full failure
    rejudge_log = property(lambda self: self.path / "rejudge.log")  # output of the reward-model judge's process
    annotations = property(lambda self: self.path / "annotations.jsonl")  # people's marks on samples (append-only)
    annotations_lock = property(lambda self: self.path / ".annotations.jsonl.lock")
    tb = property(lambda self: self.path / "tb")  # TensorBoard event files (train.report_to: tensorboard)
    trackers = property(lambda self: self.path / "trackers")  # other trackers' offline/local logs (wandb, trackio, …)
    reprobe_log = property(lambda self: self.path / "reprobe.log")  # output of `reins report --probes`'s process
    export_log = property(lambda self: self.path / "export.log")  # output of `reins export model --merge`'s process
    synth_plan = property(lambda self: self.path / "synth.json")  # a generation run's plan (`reins data synth`)

    @property
    def identity_files(self) -> tuple[Path, ...]:
        """The files the launcher writes first: a folder holding one of them is a run (perhaps a damaged one)."""
        return (self.run_json, self.recipe, self.events)

    def accelerate_config_rank(self, machine_rank: int) -> Path:
        """The accelerate config of one machine of a multi-node run (machine rank > 0)."""
        return self.path / f"accelerate_config.rank{machine_rank}.yaml"

    def stdout_rank(self, machine_rank: int) -> Path:
        """The worker log of one machine of a multi-node run (machine rank > 0)."""
        return self.path / f"stdout.rank{machine_rank}.log"

    def complete_checkpoints(self) -> list[Path]:
        """The run's complete checkpoints (those with a trainer_state.json), oldest first by step."""
        if not self.checkpoints.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.checkpoints.iterdir()
                 if (m := _CHECKPOINT.match(p.name)) and checkpoint_state(p).is_file()]
        return [p for _, p in sorted(found)]

    def log_tail(self, lines: int = 50) -> LogTail:
        """The last `lines` lines of the worker's log (stdout.log), reading only the end of the file."""
        return tail_lines(self.stdout, lines)

    def read(self) -> dict[str, Any]:
        """run.json as a dict ({} if missing or unreadable: readers must cope)."""
        try:
            data = json.loads(self.run_json.read_text())
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def update(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into run.json under a lock. Status never moves backwards and a terminal one is final,
        so the launcher and the worker can write in any order."""
        with FileLock(str(self.run_lock), timeout=30):
            data = self.read()
            new_status = changes.pop("status", None)
            data.update(changes)
            if new_status is not None:
                if new_status not in STATUSES:
                    raise ValueError(f"unknown run status {new_status!r} (expected one of {', '.join(STATUSES)})")
                old = data.get("status")
                if old not in TERMINAL_STATUSES and _ORDER.get(new_status, 99) >= _ORDER.get(old, -1):
                    data["status"] = new_status
            write_json_atomic(self.run_json, data)
            return data

    def begin_attempt(self, outcome: str | None = None, **fields: Any) -> dict[str, Any]:
        """Start a new attempt of this run (resume): archive the last attempt's process and outcome fields into
        `attempts`, then set `fields` and status `starting` (the one place status may move backwards)."""
        with FileLock(str(self.run_lock), timeout=30):
            data = self.read()
            attempts = list(data.get("attempts") or [])
            last = {k: data.pop(k) for k in ATTEMPT_FIELDS if k in data}
            last.setdefault("attempt", len(attempts) + 1)
            if outcome:
                last["status"] = outcome  # as readers saw it (e.g. `crashed`, which no process wrote)
            attempts.append(last)
            data.update(fields, attempts=attempts, attempt=len(attempts) + 1, status="starting")
            write_json_atomic(self.run_json, data)
            return data


    def requeue(self) -> dict[str, Any]:
        """Put a run whose start was interrupted (its scheduler died after taking it, before starting its worker)
        back in the queue: the one other place status may move backwards."""
        with FileLock(str(self.run_lock), timeout=30):
            data = self.read()
            queue = {k: v for k, v in (data.get("queue") or {}).items() if k not in ("claim", "started")}
            data.update(status="queued", queue=queue)
            data.pop("devices", None)
            write_json_atomic(self.run_json, data)
            return data


def checkpoint_state(checkpoint: Path) -> Path:
    """The trainer state file of one checkpoint folder (its step and max_steps)."""
    return Path(checkpoint) / TRAINER_STATE


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file in the same folder, fsync it, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; a run's files follow the user's umask
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """This process's umask, read without changing it (Linux /proc), else by the set-and-restore fallback."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def elapsed_s(record: dict[str, Any], now: datetime | None) -> float | None:
    """Seconds from a run's start to its end, or to `now` when it has not ended (None without `now`, or when the
    record has no readable times). A run that went through the queue starts when the scheduler started it: its wait
    in the queue is not its duration, and a run cancelled while queued has none."""
    start = record.get("started") or (record.get("queue") or {}).get("started")
    if not start and not record.get("queue"):
        start = record.get("created")
    if not start:
        return None
    try:
        t0 = datetime.fromisoformat(start)
        t1 = datetime.fromisoformat(record["ended"]) if record.get("ended") else None
    except (TypeError, ValueError):
        return None
    if t1 is None:
        if now is None:
            return None
        t1 = now.astimezone(t0.tzinfo) if t0.tzinfo else now.replace(tzinfo=None)
    return (t1 - t0).total_seconds()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

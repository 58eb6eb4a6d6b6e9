"""One run directory: its file layout, `run.json` (locked, atomic, status only moves forward) and process liveness."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.runs.events import STATUSES, TERMINAL_STATUSES

# Per-attempt fields of run.json: `begin_attempt` moves them into `attempts` when a run is resumed.
ATTEMPT_FIELDS = ("attempt", "status", "pid", "pid_start", "worker_pid", "worker_pid_start", "started", "ended",
                  "error", "resume_from", "resume_step")
_ORDER = {s: i for i, s in enumerate(("created", "starting", "running"))}


class RunDir:
    """Paths inside `runs/<run_id>/` (see DESIGN.md) and safe updates of `run.json`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    recipe = property(lambda self: self.path / "recipe.yaml")
    run_json = property(lambda self: self.path / "run.json")
    estimate = property(lambda self: self.path / "estimate.json")
    events = property(lambda self: self.path / "events.jsonl")
    stdout = property(lambda self: self.path / "stdout.log")
    checkpoints = property(lambda self: self.path / "checkpoints")
    final = property(lambda self: self.path / "final")

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
        with FileLock(str(self.path / ".run.json.lock"), timeout=30):
            data = self.read()
            new_status = changes.pop("status", None)
            data.update(changes)
            if new_status is not None:
                assert new_status in STATUSES, new_status
                old = data.get("status")
                if old not in TERMINAL_STATUSES and _ORDER.get(new_status, 99) >= _ORDER.get(old, -1):
                    data["status"] = new_status
            write_json_atomic(self.run_json, data)
            return data

    def begin_attempt(self, outcome: str | None = None, **fields: Any) -> dict[str, Any]:
        """Start a new attempt of this run (resume): archive the last attempt's process and outcome fields into
        `attempts`, then set `fields` and status `starting` (the one place status may move backwards)."""
        with FileLock(str(self.path / ".run.json.lock"), timeout=30):
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
    record has no readable times)."""
    start = record.get("started") or record.get("created")
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


def process_start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (Linux), to tell a live run from a recycled pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def pid_alive(pid: int | None, start_ticks: int | None = None) -> bool:
    """True if `pid` runs and is the same process that was recorded (zombies count as dead)."""
    if not pid:
        return False
    proc = Path(f"/proc/{pid}/stat")
    if proc.parent.parent.exists() and Path("/proc/self").exists():
        try:
            stat = proc.read_text()
        except OSError:
            return False
        state = stat[stat.rfind(")") + 2 :].split()[0]
        if state in ("Z", "X"):
            return False
        return start_ticks is None or process_start_ticks(pid) == start_ticks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def record_alive(record: dict[str, Any]) -> bool:
    """Whether any process recorded for the run (the launcher or the worker) is still alive. Processes on another
    host (a multi-node run read from shared storage) cannot be checked from here and count as alive."""
    import socket

    if record.get("host") and record["host"] != socket.gethostname():
        return True
    return pid_alive(record.get("pid"), record.get("pid_start")) or pid_alive(
        record.get("worker_pid"), record.get("worker_pid_start")
    )

"""Process liveness of a run: its recorded pids, their start times, and the process group its launcher leads."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import Any

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None if unreadable."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last closing parenthesis.
    return stat[stat.rfind(")") + 2 :].split()


def _has_proc() -> bool:
    return (_PROC / "self").exists()


def process_start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (Linux), to tell a live run from a recycled pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def pid_alive(pid: int | None, start_ticks: int | None = None) -> bool:
    """True if `pid` runs and is the same process that was recorded (zombies count as dead)."""
    if not pid:
        return False
    if _has_proc():
        fields = _stat_fields(pid)
        if not fields or fields[0] in ("Z", "X"):
            return False
        return start_ticks is None or process_start_ticks(pid) == start_ticks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_recycled(pid: int, start_ticks: int | None) -> bool:
    """True if `pid` now belongs to a different process than the one recorded (its start time differs)."""
    if start_ticks is None or not _has_proc():
        return False
    now = process_start_ticks(pid)
    return now is not None and now != start_ticks


def group_alive(pgid: int | None) -> bool:
    """True while any process of process group `pgid` runs (zombies, which only wait to be reaped, do not count)."""
    if not pgid:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's processes: they exist
    if not _has_proc():
        return True
    # killpg also succeeds for a group of zombies (an exited launcher nobody has reaped yet): look for a live member.
    return pid_alive(pgid) or bool(group_pids(pgid))


def group_pids(pgid: int | None) -> frozenset[int]:
    """The live processes of process group `pgid` (Linux /proc; empty elsewhere): a run's launcher, its workers and
    their children, which NVML lists by pid when they hold GPU memory."""
    if not pgid or not _has_proc():
        return frozenset()
    found = set()
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                found.add(int(entry.name))
    return frozenset(found)


def processes_with_env(name: str, value: str) -> list[int]:
    """Pids of this user's live processes whose environment sets `name=value` (Linux /proc; [] elsewhere). The
    scheduler finds a worker it started but died before recording this way."""
    if not _has_proc():
        return []
    wanted = f"{name}={value}".encode()
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in env.split(b"\0") and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def session_of(pid: int) -> int | None:
    """The session id of `pid` (the run's launcher leads its session), or None if it is gone."""
    fields = _stat_fields(pid)
    return int(fields[3]) if fields and len(fields) > 3 else None


def run_group(record: dict[str, Any]) -> int | None:
    """The process group of a run (the launcher is started in a new session, so its pid is the group id), or None
    when the launcher's pid was recycled by an unrelated process (the run's group is then gone: the kernel does not
    reuse a pid while a group of that id exists)."""
    pid = record.get("pid")
    if not pid or pid_recycled(pid, record.get("pid_start")):
        return None
    return int(pid)


def record_alive(record: dict[str, Any]) -> bool:
    """Whether any process of the run is still alive: the launcher, anything in its process group (the worker it
    started, which records its own pid only once it has loaded its libraries), or the recorded worker. Processes on
    another host (a multi-node run read from shared storage) cannot be checked from here and count as alive."""
    if record.get("host") and record["host"] != socket.gethostname():
        return True
    if pid_alive(record.get("pid"), record.get("pid_start")) or group_alive(run_group(record)):
        return True
    return pid_alive(record.get("worker_pid"), record.get("worker_pid_start"))


def signal_run(record: dict[str, Any], signum: int = signal.SIGTERM) -> bool:
    """Send `signum` to every process of the run (its process group), else to its recorded worker. True if sent."""
    group = run_group(record)
    if group_alive(group):
        try:
            os.killpg(group, signum)  # type: ignore[arg-type]
            return True
        except ProcessLookupError:
            pass
    if pid_alive(record.get("worker_pid"), record.get("worker_pid_start")):
        try:
            os.kill(record["worker_pid"], signum)
            return True
        except ProcessLookupError:
            pass
    return False

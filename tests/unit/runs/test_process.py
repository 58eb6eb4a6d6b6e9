"""Process liveness of a run: recorded pids, recycled pids, and the process group the launcher leads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from engine.runs.process import group_alive, process_start_ticks, record_alive, signal_run

# A launcher stand-in: starts a child that outlives it, prints the child's pid, and exits at once.
LEADER = ("import subprocess, sys\n"
          "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
          "print(child.pid, flush=True)\n")


def _wait(predicate, timeout: float = 15.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def orphaned_group():  # noqa: ANN201 - yields (record, child pid)
    """A new session whose leader has exited while its child keeps running: the run record of that leader."""
    leader = subprocess.Popen([sys.executable, "-c", LEADER], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    record = {"pid": leader.pid, "pid_start": process_start_ticks(leader.pid)}
    child = int(leader.stdout.readline())
    leader.wait()
    leader.stdout.close()
    yield record, child
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_run_is_alive_while_any_process_of_its_group_lives(orphaned_group) -> None:
    record, child = orphaned_group
    assert group_alive(record["pid"])
    assert record_alive(record)  # the launcher is gone, the worker it started (no pid recorded yet) is not
    os.kill(child, signal.SIGKILL)
    assert _wait(lambda: not record_alive(record)), "the group's last process ended: the run must read as dead"
    assert not group_alive(record["pid"])


def test_a_recycled_leader_pid_does_not_keep_a_run_alive() -> None:
    # A live session leader with another start time stands for "the run's launcher pid now belongs to someone else".
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        ticks = process_start_ticks(other.pid)
        if ticks is None:
            pytest.skip("no /proc start times on this system")
        assert record_alive({"pid": other.pid, "pid_start": ticks})
        assert not record_alive({"pid": other.pid, "pid_start": ticks + 1})
    finally:
        other.kill()
        other.wait()


def test_a_process_that_is_not_a_group_leader_has_no_group() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not group_alive(proc.pid) and not record_alive({"pid": proc.pid})


def test_stop_signals_reach_the_group_after_its_leader_exited(orphaned_group) -> None:
    record, child = orphaned_group
    assert signal_run(record, signal.SIGTERM)
    assert _wait(lambda: not record_alive(record)), "SIGTERM to the group must reach the child"
    assert not signal_run(record, signal.SIGTERM)  # nothing left to signal



def test_following_a_completed_run_waits_for_its_report(tmp_path, make_run, late_report) -> None:  # noqa: ANN001
    """The worker records `completed`, then writes its report (the verdict and headline in run.json), then exits:
    `wait_for` returns once that process has exited, so the caller reads the headline, not a run without one."""
    from engine import api
    from engine.runs.follow import wait_for_report

    worker = late_report(tmp_path / "r1" / "run.json", {"value": 0.5}, after_s=1.5)
    make_run(tmp_path, "r1", pid=worker.pid, events=[("status", {"status": "completed"})])
    view = api.wait_for("r1", runs_dir=tmp_path, timeout_s=30)
    assert view.status == "completed" and view.record["headline"] == {"value": 0.5}
    assert worker.poll() is not None
    # bounded: a process that outlives the grace does not hold the caller; another host's run is not watched
    other = make_run(tmp_path, "r2", pid=os.getpid())
    t0 = time.monotonic()
    wait_for_report(other, grace_s=0.3)
    assert 0.3 <= time.monotonic() - t0 < 5
    other.update(host="another-node")
    t0 = time.monotonic()
    wait_for_report(other, grace_s=30)
    assert time.monotonic() - t0 < 5

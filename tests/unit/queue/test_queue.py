"""The queue in a run store: order, priority, moving up, cancelling, the scheduler's step and its recovery."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import ReinsError
from engine.launching.launcher import QueueRequest, launch
from engine.queue import entries
from engine.queue.scheduler import ensure_scheduler, recover, step
from engine.queue.settings import QueueSettings, read_settings, update_settings
from engine.runs import events as ev
from engine.runs.store import RunStore

RELIABILITY = Path(__file__).resolve().parents[2] / "reliability"
CLAIM = {"pid": os.getpid(), "pid_start": None}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    # Started runs are the quick test worker (no torch): the queue's code paths are the real ones.
    monkeypatch.setenv("REINS_TEST_WORKER_MODULE", "quick_worker")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(RELIABILITY), os.environ.get("PYTHONPATH", "")]))
    return RunStore(tmp_path / "runs")


@pytest.fixture
def recipe(tmp_path: Path, tiny_model: Path, tiny_recipe) -> Path:
    return tiny_recipe(tmp_path, tiny_model, data={"eval": None})


def queue(recipe: Path, store: RunStore, name: str, priority: int = 0) -> str:
    return launch(recipe, name=name, runs_dir=store.root, queue=QueueRequest(priority)).id


def order(store: RunStore) -> list[str]:
    return [v.record["name"] for v in entries.queued(store.refresh())]


def test_queued_runs_wait_in_order_and_can_be_reordered_or_cancelled(recipe: Path, store: RunStore) -> None:
    ids = {n: queue(recipe, store, n) for n in ("a", "b", "c")}
    view = store.get(ids["a"])
    assert view.status == "queued" and view.record["queue"]["gpus"] == 1 and view.record["need_gib"] > 0
    assert [e["status"] for e in ev.read_all(view.dir.events) if e["kind"] == "status"] == ["queued"]
    assert order(store) == ["a", "b", "c"]
    entries.set_priority(store, ids["c"], 5)
    assert order(store) == ["c", "a", "b"]
    entries.set_priority(store, ids["b"], up=True)  # passes a, not c
    assert order(store) == ["c", "b", "a"]
    entries.set_priority(store, ids["c"], up=True)  # already first: unchanged
    assert order(store) == ["c", "b", "a"]
    cancelled = entries.cancel(store, ids["a"])
    assert cancelled.status == "stopped" and entries.CANCELLED in cancelled.record["reason"]
    assert order(store) == ["c", "b"]
    with pytest.raises(ReinsError, match="not queued"):
        entries.cancel(store, ids["a"])
    with pytest.raises(ReinsError, match="not queued"):
        entries.set_priority(store, ids["a"], up=True)


def _wait_ended(store: RunStore, run_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = store.get(run_id).status
        if status in ev.TERMINAL_STATUSES:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{run_id} did not end")


def _assert_queue_listing_reads_on_one_line_per_run(store: RunStore, waiting: str) -> None:
    """`reins queue` on a 120-column terminal: one line per run (the wait reason is short, as it repeats on every
    waiting row), and how to lift a CPU machine's one-at-a-time cap said once, in the header."""
    from rich.console import Console

    from engine.cli.render_queue import queue_table
    from engine.queue.status import read_status

    console = Console(width=120, record=True)
    console.print(queue_table(read_status(store.root)))
    lines = console.export_text().splitlines()
    assert "reins queue set max_running=N" in lines[0]
    assert lines[1].split() == ["#", "run", "status", "GPUs", "needs", "priority", "sweep", "for", "/", "why"]
    rows = lines[2:]  # nothing wraps: every line below the column names names its run
    assert rows and all(re.search(r"\b\d{8}-\d{6}-", row) for row in rows)
    assert any(waiting in row and row.endswith("the store allows 1 at once") for row in rows)


def test_a_cpu_machine_starts_one_run_at_a_time_in_order(recipe: Path, store: RunStore) -> None:
    a, b = queue(recipe, store, "a"), queue(recipe, store, "b")
    assert [s[0] for s in step(store, QueueSettings(), [], CLAIM)] == [a]
    started = store.get(a).record
    assert started["queue"]["claim"]["pid"] == os.getpid() and started["devices"] == [] and started["pid"]
    assert step(store, QueueSettings(), [], CLAIM) == []  # a holds the one CPU slot
    assert "1 run alive" in store.get(b).record["queue"]["waiting"]
    _assert_queue_listing_reads_on_one_line_per_run(store, b)
    assert _wait_ended(store, a) == "completed"
    assert [s[0] for s in step(store, QueueSettings(), [], CLAIM)] == [b]
    assert _wait_ended(store, b) == "completed"
    assert step(store, QueueSettings(max_running=2), [], CLAIM) == []  # nothing left


def test_a_run_waiting_for_another_runs_output_does_not_hold_back_the_queue(recipe: Path, store: RunStore) -> None:
    first, second, third = queue(recipe, store, "first"), queue(recipe, store, "second"), queue(recipe, store, "third")
    rd = store.get(first).dir
    q = rd.read()["queue"]
    rd.update(queue={**q, "after": [second]})  # `first` needs `second`'s output
    assert [s[0] for s in step(store, QueueSettings(max_running=2), [], CLAIM)] == [second, third]
    assert "waiting for" in store.get(first).record["queue"]["waiting"]
    assert _wait_ended(store, second) == "completed" and _wait_ended(store, third) == "completed"
    assert [s[0] for s in step(store, QueueSettings(), [], CLAIM)] == [first]


def test_a_run_whose_input_run_failed_fails_instead_of_waiting_forever(recipe: Path, store: RunStore) -> None:
    needs, dep = queue(recipe, store, "needs"), queue(recipe, store, "dep")
    entries.cancel(store, dep)
    rd = store.get(needs).dir
    rd.update(queue={**rd.read()["queue"], "after": [dep]})
    assert step(store, QueueSettings(), [], CLAIM) == []
    view = store.get(needs)
    assert view.status == "failed" and "ended stopped" in view.record["error"]


def test_a_start_cut_short_by_the_schedulers_death_goes_back_to_the_queue(recipe: Path, store: RunStore) -> None:
    run_id = queue(recipe, store, "cut")
    rd = store.get(run_id).dir
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    claim = {"pid": int(dead.stdout), "pid_start": None}
    rd.update(status="starting", queue={**rd.read()["queue"], "claim": claim})  # taken, worker never started
    assert store.get(run_id).status == "queued"  # readers already see where it is going
    assert recover(store) == [run_id]
    record = rd.read()
    assert record["status"] == "queued" and "claim" not in record["queue"]
    assert [e["status"] for e in ev.read_all(rd.events) if e["kind"] == "status"][-1] == "queued"
    assert [s[0] for s in step(store, QueueSettings(), [], CLAIM)] == [run_id]  # and starts normally later
    assert _wait_ended(store, run_id) == "completed"


def test_a_worker_started_by_a_scheduler_that_died_is_adopted_not_started_twice(recipe: Path,
                                                                               store: RunStore) -> None:
    run_id = queue(recipe, store, "orphan")
    rd = store.get(run_id).dir
    rd.update(status="starting", queue={**rd.read()["queue"], "claim": {"pid": 2**22 + 7, "pid_start": None}})
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True,
                              env={**os.environ, "REINS_RUN_DIR": str(rd.path)})
    try:
        time.sleep(0.3)
        assert recover(store) == [run_id]
        assert rd.read()["pid"] == worker.pid and store.get(run_id).status == "starting"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def test_settings_file_round_trip_and_bad_values(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    assert read_settings(root) == QueueSettings()
    assert update_settings(root, {"max_running": 2, "pack": True}).max_running == 2
    assert read_settings(root).pack is True
    with pytest.raises(ReinsError, match="pack_share"):
        update_settings(root, {"pack_share": 1.5})
    with pytest.raises(ReinsError, match="Unknown queue setting"):
        update_settings(root, {"max_runing": 2})
    (root / "queue" / "settings.yaml").write_text("- not a mapping\n")
    with pytest.raises(ReinsError, match="mapping"):
        read_settings(root)


def test_no_scheduler_is_started_without_queued_work(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    assert ensure_scheduler(root) is None  # no store
    root.mkdir()
    assert ensure_scheduler(root) is None  # nothing queued

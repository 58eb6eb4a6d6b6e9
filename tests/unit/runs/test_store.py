"""The run store: index as a rebuildable cache, derived `crashed`, forward-only status, lookups by id/prefix/name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import RunNotFoundError
from engine.runs.events import EventWriter
from engine.runs.process import pid_alive, process_start_ticks
from engine.runs.rundir import RunDir
from engine.runs.store import RunStore


def make_run(root: Path, run_id: str, status: str = "completed", pid: int | None = None, name: str | None = None,
             created: str = "2026-11-27T00:00:00+00:00", events: list[tuple[str, dict]] | None = None) -> RunDir:
    rd = RunDir(root / run_id)
    rd.path.mkdir(parents=True)
    rd.update(id=run_id, name=name or run_id, method="dpo", model="m", created=created, status="created", pid=pid,
              pid_start=process_start_ticks(pid) if pid else None)
    rd.update(status=status)
    with EventWriter(rd.events) as w:
        for kind, fields in events or []:
            w.write(kind, **fields)
    return rd


def test_listing_builds_the_index_and_sorts_newest_first(tmp_path: Path, make_run) -> None:
    make_run(tmp_path, "a", created="2026-11-27T01:00:00+00:00")
    make_run(tmp_path, "b", created="2026-11-27T02:00:00+00:00",
             events=[("metric", {"step": 3, "split": "train", "values": {"loss": 0.5}})])
    views = RunStore(tmp_path).refresh()
    assert [v.id for v in views] == ["b", "a"]
    assert views[0].summary.last["train"] == {"loss": 0.5}
    index = json.loads((tmp_path / "index.json").read_text())
    assert {d["id"] for d in index["runs"].values()} == {"a", "b"}


def test_index_is_rebuilt_when_missing_or_corrupt_and_nothing_is_deleted(tmp_path: Path, make_run) -> None:
    make_run(tmp_path, "a")
    store = RunStore(tmp_path)
    store.refresh()
    (tmp_path / "index.json").write_text("{ not json")
    assert [v.id for v in store.refresh()] == ["a"]
    assert json.loads((tmp_path / "index.json").read_text())["runs"]
    (tmp_path / "index.json").unlink()
    assert [v.id for v in store.refresh()] == ["a"]
    assert (tmp_path / "a" / "run.json").exists()


def test_stale_entries_are_refreshed_from_the_run_directory(tmp_path: Path, make_run) -> None:
    rd = make_run(tmp_path, "a", status="running", pid=os.getpid())
    store = RunStore(tmp_path)
    assert store.refresh()[0].status == "running"
    with EventWriter(rd.events) as w:
        w.write("metric", step=7, split="train", values={"loss": 0.1})
        w.status("completed", summary={"steps": 7})
    view = store.refresh()[0]
    assert (view.status, view.summary.step) == ("completed", 7)


def test_a_run_whose_process_is_gone_is_crashed(tmp_path: Path, make_run) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    make_run(tmp_path, "dead", status="running", pid=proc.pid,
             events=[("metric", {"step": 2, "split": "train", "values": {"loss": 0.4}})])
    view = RunStore(tmp_path).get("dead")
    assert view.status == "crashed"
    assert view.summary.last["train"]["loss"] == 0.4  # last metrics intact


def test_a_live_process_keeps_the_run_running(tmp_path: Path, make_run) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        make_run(tmp_path, "live", status="running", pid=proc.pid)
        assert RunStore(tmp_path).get("live").status == "running"
    finally:
        proc.kill()
        proc.wait()
    assert RunStore(tmp_path).get("live").status == "crashed"


def test_pid_reuse_is_detected_by_start_time() -> None:
    assert pid_alive(os.getpid(), process_start_ticks(os.getpid()))
    assert not pid_alive(os.getpid(), (process_start_ticks(os.getpid()) or 0) + 1)


def test_status_only_moves_forward_and_terminal_is_final(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "r")
    rd.path.mkdir()
    rd.update(status="running")
    assert rd.update(status="starting")["status"] == "running"  # a late launcher write cannot undo `running`
    rd.update(status="completed")
    assert rd.update(status="failed")["status"] == "completed"


def test_status_update_rejects_an_unknown_status(tmp_path: Path) -> None:
    rd = RunDir(tmp_path)
    with pytest.raises(ValueError, match="unknown run status 'finished'"):
        rd.update(status="finished")


def test_lookup_by_prefix_name_and_latest(tmp_path: Path, make_run) -> None:
    make_run(tmp_path, "20261127-010000-dpo", name="alpha", created="2026-11-27T01:00:00+00:00")
    make_run(tmp_path, "20261127-020000-sft", name="beta", created="2026-11-27T02:00:00+00:00")
    store = RunStore(tmp_path)
    assert store.get("20261127-01").id == "20261127-010000-dpo"
    assert store.get("beta").id == "20261127-020000-sft"
    assert store.get("latest").id == "20261127-020000-sft"
    with pytest.raises(RunNotFoundError, match="ambiguous"):
        store.get("20261127-0")
    with pytest.raises(RunNotFoundError, match="No run 'zzz'.*Recent runs"):
        store.get("zzz")


def test_concurrent_listers_keep_one_entry_per_run(tmp_path: Path, make_run) -> None:
    for i in range(8):
        make_run(tmp_path, f"r{i}")
    code = (f"from engine.runs.store import RunStore; s = RunStore({str(tmp_path)!r})\n"
            "for _ in range(5): s.refresh()")
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    index = json.loads((tmp_path / "index.json").read_text())
    ids = [d["id"] for d in index["runs"].values()]
    assert sorted(ids) == [f"r{i}" for i in range(8)]


def test_refresh_reads_only_new_event_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_run) -> None:
    rd = make_run(tmp_path, "a", status="running", pid=os.getpid(),
                  events=[("metric", {"step": i, "split": "train", "values": {"loss": 1.0}}) for i in range(2000)])
    store = RunStore(tmp_path)
    store.refresh()
    import engine.runs.events as events

    seen: list[int] = []
    real = events.read_from

    def spy(path, offset=0, max_bytes=None):
        seen.append(offset)
        return real(path, offset, max_bytes)

    monkeypatch.setattr(events, "read_from", spy)
    time.sleep(0.01)
    with EventWriter(rd.events) as w:
        w.write("metric", step=2000, split="train", values={"loss": 0.5})
    assert store.refresh()[0].summary.step == 2000
    assert seen and min(seen) > 0  # resumed from the stored offset, not from byte 0


def test_elapsed_time_of_ended_live_and_unknown_runs() -> None:
    from datetime import datetime, timezone

    from engine.formatting import hms
    from engine.runs.rundir import elapsed_s

    ended = {"started": "2026-11-27T06:00:00+00:00", "ended": "2026-11-27T06:10:31+00:00"}
    assert hms(elapsed_s(ended, None)) == "0:10:31"  # `now` does not matter once a run has ended
    live = {"created": "2026-11-27T06:00:00+00:00"}
    assert elapsed_s(live, datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc)) == 3600.0
    assert elapsed_s(live, None) is None and hms(None) == ""
    assert elapsed_s({"started": "not a time"}, None) is None and elapsed_s({}, None) is None


def test_a_queued_runs_wait_is_not_its_duration() -> None:
    from datetime import datetime, timezone

    from engine.runs.rundir import elapsed_s

    now = datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc)
    waiting = {"created": "2026-11-27T06:00:00+00:00", "queue": {"submitted": "2026-11-27T06:00:00+00:00"}}
    assert elapsed_s(waiting, now) is None
    cancelled = {**waiting, "ended": "2026-11-27T06:30:00+00:00"}
    assert elapsed_s(cancelled, None) is None
    # taken by the scheduler at 06:50, its worker not yet up: 10 minutes, not the hour since it was submitted
    taken = {**waiting, "queue": {**waiting["queue"], "started": "2026-11-27T06:50:00+00:00"}}
    assert elapsed_s(taken, now) == 600.0
    assert elapsed_s({**taken, "started": "2026-11-27T06:55:00+00:00"}, now) == 300.0

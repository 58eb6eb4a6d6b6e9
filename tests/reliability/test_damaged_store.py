"""Torn and garbage event lines, a missing/corrupt index, a run without run.json: listing works, nothing is lost."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from engine.runs import events as ev
from engine.runs.events import EventWriter
from engine.runs.salvage import LAUNCH_GRACE_S

pytestmark = pytest.mark.e2e  # real `reins run` launches (with the quick test worker)
STEPS = 5


@pytest.fixture
def ls(reins):  # noqa: ANN201 - a reader
    """ls(runs): `reins ls --json`, asserted to succeed without a traceback."""

    def listing(runs: Path) -> list[dict]:
        res = reins("ls", "--json", runs=runs)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        return json.loads(res.stdout)

    return listing


@pytest.fixture
def two_runs(tmp_path: Path, tiny_model: Path, quick_env, reins, tiny_recipe, wait_until, ls) -> tuple[Path, list[str]]:
    """Two completed runs made by the real launcher (with the quick test worker)."""
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model)
    ids = []
    for name in ("first", "second"):
        res = reins("run", str(recipe), "--name", name, "--json", runs=runs, env=quick_env(runs, STEPS))
        assert res.returncode == 0, res.stderr
        ids.append(json.loads(res.stdout)["id"])
    wait_until(lambda: all(r["status"] == "completed" for r in ls(runs)), timeout=60)
    return runs, ids


def test_torn_and_garbage_event_lines(two_runs, metric_steps, ls) -> None:
    runs, (first, _) = two_runs
    events = runs / first / "events.jsonl"
    whole = events.read_bytes()
    # A garbage line in the middle and a torn last line, as a SIGKILL mid-write or a bad disk would leave.
    lines = whole.splitlines(keepends=True)
    events.write_bytes(b"".join(lines[:3]) + b"\x00\xffnot json at all\n" + b"".join(lines[3:])
                       + b'{"t": 1, "kind": "metric", "step": 9')
    listed = {r["id"]: r for r in ls(runs)}
    assert listed[first]["status"] == "completed" and listed[first]["step"] == STEPS
    assert listed[first]["unreadable_event_lines"] == 1
    assert metric_steps(runs / first) == list(range(1, STEPS + 1))
    # The next writer (a resumed attempt) ends the torn line first, so its own events stay readable.
    with EventWriter(events) as w:
        w.status("starting", attempt=2)
    assert ev.read_all(events)[-1] == {**ev.read_all(events)[-1], "status": "starting", "attempt": 2}
    assert events.read_bytes().startswith(whole[: len(b"".join(lines[:3]))])  # nothing before was rewritten
    assert ev.tail(events, 1)[0]["status"] == "starting"


@pytest.mark.parametrize("damage", ["garbage", "empty", "wrong shape", "missing", "a folder"])
def test_missing_or_corrupt_index_is_rebuilt(two_runs, damage: str, file_snapshot, ls) -> None:
    runs, ids = two_runs
    index = runs / "index.json"
    before = file_snapshot(runs)
    if damage == "garbage":
        index.write_bytes(b"\x89PNG\r\n{{{ not an index")
    elif damage == "empty":
        index.write_bytes(b"")
    elif damage == "wrong shape":
        index.write_text(json.dumps([1, 2, 3]))
    elif damage == "missing":
        index.unlink()
    else:
        index.unlink()
        index.mkdir()  # something odd in its place: the listing must still work
    listed = ls(runs)
    assert sorted(r["id"] for r in listed) == sorted(ids) and {r["status"] for r in listed} == {"completed"}
    if damage == "a folder":
        assert index.is_dir()  # left alone: Reins never deletes what it did not write
        return
    rebuilt = json.loads(index.read_text())
    assert sorted(d["id"] for d in rebuilt["runs"].values()) == sorted(ids)
    assert file_snapshot(runs) == before  # nothing deleted or changed in the run folders


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_run_without_a_readable_run_json_is_listed_as_damaged(two_runs, damage: str, file_snapshot, reins, ls) -> None:
    runs, (first, second) = two_runs
    ls(runs)  # the index caches both runs first, as it would in real life
    run_json = runs / second / "run.json"
    if damage == "missing":
        run_json.unlink()
    else:
        run_json.write_text('{"id": "' + second + '", "stat')
    old = time.time() - LAUNCH_GRACE_S - 5  # an old folder, not a launch in progress
    os.utime(runs / second, (old, old))
    before = file_snapshot(runs)
    listed = {r["id"]: r for r in ls(runs)}
    assert set(listed) == {first, second}
    damaged = listed[second]
    assert "run.json is" in damaged["damaged"] and damaged["method"] == "dpo"
    assert damaged["model"].endswith("tiny-llama0") or Path(damaged["model"]).is_dir()
    assert damaged["status"] == "completed" and damaged["step"] == STEPS  # from events.jsonl
    assert "damaged" not in listed[first]
    plain = reins("ls", runs=runs)
    assert plain.returncode == 0 and "(damaged)" in plain.stdout
    shown = reins("show", second, "--json", runs=runs)
    assert shown.returncode == 0 and json.loads(shown.stdout)["damaged"]
    assert file_snapshot(runs) == before and (runs / second / "recipe.yaml").is_file()


def test_a_folder_being_launched_is_not_reported_damaged(two_runs, ls) -> None:
    runs, ids = two_runs
    (runs / "20991231-000000-in-progress").mkdir()
    (runs / "20991231-000000-in-progress" / "recipe.yaml").write_text("method: {name: dpo}\n")
    (runs / "notes").mkdir()  # a user's own folder, not a run
    assert sorted(r["id"] for r in ls(runs)) == sorted(ids)

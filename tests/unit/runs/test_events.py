"""The events.jsonl contract: whole lines, torn last lines, garbage, tails of big files, incremental summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runs import events as ev


def test_writer_round_trips_and_flushes_each_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    w = ev.EventWriter(path)
    w.status("running", max_steps=4)
    w.write("metric", step=1, split="train", values={"loss": 0.69})
    # Flushed on write: a reader sees both lines while the writer is still open.
    events = ev.read_all(path)
    w.close()
    assert [e["kind"] for e in events] == ["status", "metric"]
    assert events[1]["values"] == {"loss": 0.69} and isinstance(events[0]["t"], float)


def test_nan_and_inf_become_readable_strings(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with ev.EventWriter(path) as w:
        w.write("metric", step=1, values={"loss": float("nan"), "grad_norm": float("inf")})
    line = path.read_text()
    json.loads(line)  # still strict JSON
    assert ev.read_all(path)[0]["values"] == {"loss": "nan", "grad_norm": "inf"}


def test_torn_last_line_is_left_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"kind": "status", "status": "running"}\n{"kind": "metric", "st')
    chunk = ev.read_from(path)
    assert [e["kind"] for e in chunk.events] == ["status"]
    with open(path, "a") as fh:
        fh.write('ep": 3, "values": {}}\n')
    rest = ev.read_from(path, chunk.offset)
    assert [e.get("step") for e in rest.events] == [3]


def test_garbage_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"kind": "status", "status": "running"}\n\x00\xff garbage\n[1,2]\n{"kind": "alert"}\n')
    chunk = ev.read_from(path)
    assert [e["kind"] for e in chunk.events] == ["status", "alert"]
    assert chunk.bad_lines == 2


def test_tail_reads_only_the_end_of_a_big_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "events.jsonl"
    with open(path, "w") as fh:
        for i in range(50_000):
            fh.write(json.dumps({"kind": "metric", "step": i, "values": {"loss": 1.0 / (i + 1)}}) + "\n")
        fh.write('{"kind": "metric", "step": 50000, "val')  # torn
    read_sizes: list[int] = []
    real_open = open

    class Counting:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.fh.close()

        def seek(self, pos):
            return self.fh.seek(pos)

        def read(self, n=-1):
            data = self.fh.read(n)
            read_sizes.append(len(data))
            return data

    monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: Counting(real_open(p, mode, *a, **k)))
    last = ev.tail(path, 5)
    assert [e["step"] for e in last] == [49995, 49996, 49997, 49998, 49999]
    assert sum(read_sizes) < path.stat().st_size / 20


def test_summary_is_incremental(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with ev.EventWriter(path) as w:
        w.status("running", max_steps=10)
        w.write("metric", step=1, split="train", values={"loss": 0.7, "rewards/margins": 0.0})
        w.write("metric", step=1, split="eval", values={"rewards/accuracies": 0.0})
    s = ev.summarize(path)
    assert (s.status, s.max_steps, s.step) == ("running", 10, 1)
    offset = s.offset
    with ev.EventWriter(path) as w:
        w.write("metric", step=2, split="train", values={"loss": 0.6})
        w.write("alert", step=2, rule="x", message="m")
        w.status("completed", summary={"steps": 2})
    s = ev.summarize(path, s)
    assert s.offset > offset
    assert s.last["train"] == {"loss": 0.6, "rewards/margins": 0.0}
    assert s.first["eval"] == {"rewards/accuracies": 0.0}
    assert (s.status, s.step, s.alerts, s.final) == ("completed", 2, 1, {"steps": 2})
    assert ev.Summary.from_dict(json.loads(json.dumps(s.to_dict()))).last == s.last


def test_summary_tracks_the_phase_after_training(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with ev.EventWriter(path) as w:
        w.status("running")
        w.write("phase", step=4, name="post-training evaluation", detail="4 samples")
        w.write("phase", step=4, name="post-training evaluation", detail="policy answers 16/32")
    s = ev.summarize(path)
    assert s.phase == "post-training evaluation: policy answers 16/32"  # the latest, with its count
    with ev.EventWriter(path) as w:
        w.write("evaluation", step=4, values={})
    s = ev.summarize(path, s)
    assert s.phase is None  # the evaluation ended
    with ev.EventWriter(path) as w:
        w.write("phase", step=4, name="post-training evaluation")
        w.status("failed", error="killed")
    assert ev.summarize(path, s).phase is None  # a run that ended is not evaluating any more

"""The annotation journal: appends whole lines under a lock, later records supersede, a torn line costs only itself."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from engine.runs.annotations import Journal, chosen, latest


def _journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "annotations.jsonl", tmp_path / ".annotations.jsonl.lock")


def _record(sample: int, choice: str, step: int = 20, text: str = "answer") -> dict:
    return {"kind": "pairwise", "source": {"run": "r", "evaluation_step": step, "sample": sample}, "prompt": "q",
            "a": {"who": "policy", "text": text}, "b": {"who": "reference", "text": "other"}, "choice": choice,
            "judge": None, "annotator": "me"}


def test_append_writes_one_timestamped_line_per_record(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    written = journal.append(_record(0, "a"))
    journal.append(_record(1, "b"))
    lines = journal.path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0]) == written and isinstance(written["t"], float)
    assert [chosen(r) for r in journal.records()] == ["policy", "reference"]


def test_later_records_supersede_earlier_ones_for_the_same_sample(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    for sample, choice in ((0, "a"), (1, "tie"), (0, "b"), (2, "a"), (2, "skip")):
        journal.append(_record(sample, choice))
    # Another evaluation's sample 0 is another question.
    journal.append(_record(0, "a", step=40))
    now = latest(journal.records())
    assert [(r["source"]["evaluation_step"], r["source"]["sample"], chosen(r)) for r in now] == \
        [(20, 0, "reference"), (20, 1, "tie"), (20, 2, None), (40, 0, "policy")]
    assert len(journal.records()) == 6  # nothing was rewritten: the journal only grows


def test_a_torn_last_line_is_skipped_and_the_next_append_is_whole(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.append(_record(0, "a"))
    with open(journal.path, "a", encoding="utf-8") as fh:
        fh.write('{"kind": "pairwise", "source": {"run": "r", "evalu')  # a process died mid-write
    assert [chosen(r) for r in journal.records()] == ["policy"]
    journal.append(_record(1, "b"))
    assert [chosen(r) for r in journal.records()] == ["policy", "reference"]


def _append_many(path: str, who: str, n: int) -> None:
    journal = Journal(Path(path), Path(path + ".lock"))
    for i in range(n):
        journal.append(_record(i, "a", text=who * 200_000))  # lines far larger than one write of a pipe or buffer


def test_two_processes_appending_never_interleave_lines(tmp_path: Path) -> None:
    path = str(tmp_path / "annotations.jsonl")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, who, 15)) for who in ("x", "y")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lines = Path(path).read_text().splitlines()
    assert len(lines) == 30
    texts = [json.loads(line)["a"]["text"] for line in lines]  # every line parses: no two writes interleaved
    assert sorted({t[0] for t in texts}) == ["x", "y"] and all(len(set(t)) == 1 for t in texts)


def test_an_append_waits_for_the_lock_another_writer_holds(tmp_path: Path) -> None:
    import threading

    from filelock import FileLock

    journal = _journal(tmp_path)
    done = threading.Event()
    with FileLock(str(journal.lock)):
        writer = threading.Thread(target=lambda: (journal.append(_record(0, "a")), done.set()))
        writer.start()
        assert not done.wait(0.5) and not journal.path.exists()  # held back while another writer has the lock
    writer.join(10)
    assert done.is_set() and [chosen(r) for r in journal.records()] == ["policy"]

"""The annotation journal (`annotations.jsonl`): people's decisions, one JSON line each, appended under a lock."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.runs.events import read_all
from engine.runs.rundir import RunDir

# What a person can answer about a pair (a, b): one of them is better, both are as good, or no decision (a later
# `skip` withdraws an earlier answer: the journal is never edited).
CHOICES = ("a", "b", "tie", "skip")


class Journal:
    """One annotation journal. Appends are whole lines written under a file lock and fsynced, so two processes never
    interleave and a crash loses at most the line being written; readers skip a torn or garbage line."""

    def __init__(self, path: Path, lock: Path) -> None:
        self.path, self.lock = Path(path), Path(lock)

    @classmethod
    def of_run(cls, rd: RunDir) -> Journal:
        return cls(rd.annotations, rd.annotations_lock)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Add one record (its `t` defaults to now) and return it as written."""
        record = {"t": round(time.time(), 3), **record}
        line = json.dumps(record, ensure_ascii=False, allow_nan=False).encode() + b"\n"
        with FileLock(str(self.lock), timeout=30), open(self.path, "a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell():
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    # A writer died mid-line: end that line so it costs one unreadable line, not also this one.
                    line = b"\n" + line
            fh.write(line)  # "a" mode: always at the end, whatever the seek above did
            fh.flush()
            os.fsync(fh.fileno())
        return record

    def records(self) -> list[dict[str, Any]]:
        """Every readable record, oldest first ([] when there is no journal yet)."""
        return read_all(self.path)


def source_key(record: dict[str, Any]) -> tuple[str, str]:
    """What a record is about: its kind and its source (two records with the same key are the same question)."""
    return str(record.get("kind")), json.dumps(record.get("source"), sort_keys=True, default=str)


def latest(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest record per question, in the order the questions were first asked: later records supersede."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        out[source_key(record)] = record
    return list(out.values())


def chosen(record: dict[str, Any]) -> str | None:
    """Who the person preferred: the `who` of the chosen answer, `tie`, or None (skipped or unreadable)."""
    choice = record.get("choice")
    if choice == "tie":
        return "tie"
    side = record.get(choice) if choice in ("a", "b") else None
    who = side.get("who") if isinstance(side, dict) else None
    return str(who) if who else None

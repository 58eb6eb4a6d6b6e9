"""The append-only `events.jsonl` contract: a flushing writer and readers that tolerate torn lines and big files."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TERMINAL_STATUSES = frozenset({"completed", "failed", "stopped", "crashed"})
# `queued`: waiting in the run store's queue for the scheduler to start it (engine/queue); then as any run.
STATUSES = ("queued", "created", "starting", "running", *sorted(TERMINAL_STATUSES))


def _clean(value: Any) -> Any:
    # JSON has no NaN/inf: write them as strings a reader can still recognise ("nan", "inf").
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class EventWriter:
    """Appends one JSON object per line and flushes each write, so readers and crashes see whole lines."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the writer
        if ends_torn(self.path):
            # A previous writer died mid-line: end that line so it costs one unreadable line, not also ours.
            self._fh.write("\n")
            self._fh.flush()

    def write(self, kind: str, durable: bool = False, **fields: Any) -> dict[str, Any]:
        event = {"t": round(time.time(), 3), "kind": kind, **_clean(fields)}
        try:
            self._fh.write(json.dumps(event, ensure_ascii=False, allow_nan=False) + "\n")
            self._fh.flush()
            if durable:
                os.fsync(self._fh.fileno())
        except OSError as exc:
            if exc.filename is None:
                exc.filename = str(self.path)  # so "disk full" says which file it could not write
            raise
        return event

    def status(self, status: str, **fields: Any) -> dict[str, Any]:
        return self.write("status", durable=True, status=status, **fields)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ends_torn(path: Path) -> bool:
    """Whether the file ends mid-line (a writer died while appending): the next writer starts a fresh line."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return False
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) != b"\n"
    except OSError:
        return False


@dataclass
class Chunk:
    """Events parsed from a byte range, the offset to continue from, and how many lines were unreadable."""

    events: list[dict[str, Any]]
    offset: int
    bad_lines: int = 0


def read_from(path: Path, offset: int = 0, max_bytes: int | None = None) -> Chunk:
    """Parse complete lines from `offset`. A last line without its newline (a write in progress, or a run
    killed mid-write) is left for the next call; garbage lines are skipped and counted."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read() if max_bytes is None else fh.read(max_bytes)
    except FileNotFoundError:
        return Chunk([], offset)
    end = data.rfind(b"\n")
    if end < 0:
        return Chunk([], offset)
    events, bad = _parse_lines(data[: end + 1].splitlines())
    return Chunk(events, offset + end + 1, bad)


def _parse_lines(lines: list[bytes]) -> tuple[list[dict[str, Any]], int]:
    events, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            bad += 1
            continue
        if isinstance(event, dict) and "kind" in event:
            events.append(event)
        else:
            bad += 1
    return events, bad


def read_all(path: Path) -> list[dict[str, Any]]:
    """Every readable event (for small files and tests; large files want `read_from` or `tail`)."""
    return read_from(path).events


def tail(path: Path, n: int = 50, block: int = 64 * 1024) -> list[dict[str, Any]]:
    """The last `n` readable events, reading backwards block by block (never the whole file)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return []
    with open(path, "rb") as fh:
        pos, buf = size, b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            buf = fh.read(step) + buf
            if buf.count(b"\n") > n + 1:
                break
    lines = buf.splitlines()
    if pos > 0:
        lines = lines[1:]  # the first line may start mid-record
    if not buf.endswith(b"\n") and lines:
        lines = lines[:-1]  # torn last line
    events, _ = _parse_lines(lines)
    return events[-n:]


@dataclass
class Summary:
    """What one pass over the events says about a run; updated incrementally as the file grows."""

    offset: int = 0
    events: int = 0
    bad_lines: int = 0
    status: str | None = None
    status_t: float | None = None
    step: int = 0
    max_steps: int | None = None
    epoch: float | None = None
    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    first: dict[str, dict[str, Any]] = field(default_factory=dict)
    system: dict[str, Any] = field(default_factory=dict)
    alerts: int = 0
    final: dict[str, Any] | None = None
    error: str | None = None
    phase: str | None = None  # what a running worker does besides training steps (e.g. the post-training evaluation)

    def update(self, chunk: Chunk) -> Summary:
        self.offset = chunk.offset
        self.bad_lines += chunk.bad_lines
        for ev in chunk.events:
            self.events += 1
            kind = ev.get("kind")
            if kind == "status":
                if ev.get("attempt") and ev.get("status") == "starting":
                    self.final = self.error = None  # a resumed attempt: the last attempt's outcome no longer applies
                self.status, self.status_t = ev.get("status"), ev.get("t")
                if self.status in TERMINAL_STATUSES:
                    self.phase = None
                self.max_steps = ev.get("max_steps", self.max_steps)
                if ev.get("summary") is not None:
                    self.final = ev["summary"]
                if ev.get("error"):
                    self.error = ev["error"]
            elif kind == "metric":
                split = ev.get("split", "train")
                values = ev.get("values", {})
                self.first.setdefault(split, dict(values))
                self.last.setdefault(split, {}).update(values)
                if split == "train":
                    self.step = max(self.step, int(ev.get("step") or 0))
                    self.epoch = ev.get("epoch", self.epoch)
            elif kind == "system":
                self.system.update(ev.get("values", {}))
            elif kind == "alert":
                self.alerts += 1
            elif kind == "phase":  # "post-training evaluation: policy answers 16/32"
                self.phase = ": ".join(str(v) for v in (ev.get("name"), ev.get("detail")) if v)
            elif kind == "evaluation":
                self.phase = None
        return self

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def summarize(path: Path, previous: Summary | None = None) -> Summary:
    """Bring a summary up to date with the file, reading only the bytes added since `previous`."""
    summary = previous or Summary()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return summary
    if size < summary.offset:  # the file was replaced or truncated: start again
        summary = Summary()
    while True:
        chunk = read_from(path, summary.offset, max_bytes=8 * 1024 * 1024)
        if chunk.offset == summary.offset:
            return summary
        summary.update(chunk)

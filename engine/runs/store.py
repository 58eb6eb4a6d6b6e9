"""The run store: `runs/<id>/` directories plus a TinyDB index (`runs/index.json`) that is only ever a cache."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock
from tinydb import Query, TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import Storage

from engine.errors import RunNotFoundError
from engine.runs.events import TERMINAL_STATUSES, Summary, summarize
from engine.runs.process import pid_alive, record_alive
from engine.runs.rundir import RUN_KINDS, RunDir, current_umask
from engine.runs.salvage import is_run_dir, salvage_record

INDEX_VERSION = 1
SAFE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class AtomicJSONStorage(Storage):
    """TinyDB storage that rewrites the file via temp file + rename and treats a corrupt file as empty."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None  # a cache: rebuilt from the run directories
        if not isinstance(data, dict) or data.get("_meta", {}).get("1", {}).get("version") != INDEX_VERSION:
            return None
        return data

    def write(self, data: dict[str, Any]) -> None:
        data = {**data, "_meta": {"1": {"version": INDEX_VERSION}}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".index.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~current_umask())  # the index follows the user's umask, like the run folders
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, default=str)
            os.replace(tmp, self.path)
        except OSError:
            # The index is only a cache: if it cannot be written (disk full, a folder in its place), listing still
            # works from the run folders, and the next listing tries again.
            Path(tmp).unlink(missing_ok=True)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        pass


@dataclass
class RunView:
    """What a reader knows about one run: run.json, the event summary, and the status derived from both."""

    dir: RunDir
    record: dict[str, Any]
    summary: Summary

    @property
    def id(self) -> str:
        return self.dir.id

    @property
    def status(self) -> str:
        return derive_status(self.record, self.summary)

    @property
    def kind(self) -> str:
        """train, generate or evaluate (run.json's `kind`; older runs, which lack it, all trained)."""
        return str(self.record.get("kind") or RUN_KINDS[0])

    @property
    def what(self) -> str:
        """What the run does in one word for a listing: its method when it trains, else its kind."""
        return str(self.record.get("method") or "?") if self.kind == RUN_KINDS[0] else self.kind

    @property
    def ended(self) -> bool:
        """Whether the run has reached a terminal status (completed, failed, stopped or crashed)."""
        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {
            **self.record,
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "path": str(self.dir.path),
            "step": s.step,
            "max_steps": s.max_steps,
            "epoch": s.epoch,
            "metrics": s.last.get("train", {}),
            "eval_metrics": s.last.get("eval", {}),
            "first_eval_metrics": s.first.get("eval", {}),
            "system": s.system,
            "alerts": s.alerts,
            "summary": s.final,
            "error": s.error or self.record.get("error"),
            "unreadable_event_lines": s.bad_lines,
        }


def derive_status(record: dict[str, Any], summary: Summary) -> str:
    """Events are the truth for terminal states; a run with no live process and no terminal event is `crashed`."""
    if summary.status in TERMINAL_STATUSES:
        return summary.status  # type: ignore[return-value]
    status = record.get("status") or "created"
    if status in TERMINAL_STATUSES or status == "queued":
        return status  # a queued run has no process yet: waiting is not crashing
    claim = (record.get("queue") or {}).get("claim")
    if claim and not record.get("pid") and not record.get("worker_pid"):
        # The scheduler took it from the queue and has not recorded the worker yet: starting while that scheduler
        # lives; if it died there, the next scheduler puts the run back in the queue (or adopts its worker).
        return "starting" if pid_alive(claim.get("pid"), claim.get("pid_start")) else "queued"
    if record_alive(record):
        return "running" if summary.status == "running" else status
    return "crashed"


class RunStore:
    """All runs under one folder. Listing refreshes the index incrementally from the run directories."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.index_path = self.root / "index.json"

    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".index.lock"), timeout=60)

    def run_dirs(self) -> list[RunDir]:
        if not self.root.is_dir():
            return []
        return [RunDir(p) for p in sorted(self.root.iterdir()) if is_run_dir(p)]

    def refresh(self) -> list[RunView]:
        """Every run, newest first, with the index brought up to date (only changed runs are re-read)."""
        if not self.root.is_dir():
            return []  # reading never creates a store
        with self._lock():
            db = TinyDB(str(self.index_path), storage=CachingMiddleware(AtomicJSONStorage))
            try:
                table = db.table("runs")
                cached = {doc["id"]: doc for doc in table.all()}
                views, dirty = [], False
                for rd in self.run_dirs():
                    doc = cached.pop(rd.id, None)
                    view, changed = self._view(rd, doc)
                    views.append(view)
                    if changed:
                        table.upsert(self._doc(view), Query().id == rd.id)
                        dirty = True
                for gone in cached:  # folder removed by hand: drop it from the cache only
                    table.remove(Query().id == gone)
                    dirty = True
                if dirty or not self.index_path.exists():
                    db.storage.flush()
            finally:
                db.close()
        views.sort(key=lambda v: v.record.get("created", ""), reverse=True)
        return views

    def _view(self, rd: RunDir, doc: dict[str, Any] | None) -> tuple[RunView, bool]:
        rj_mtime = _mtime(rd.run_json)
        if doc and doc.get("run_json_mtime") == rj_mtime:
            record = doc["record"]
        else:
            record = rd.read() or salvage_record(rd)  # run.json missing or corrupt: list it as damaged, not hide it
        previous = Summary.from_dict(doc["summary"]) if doc and doc.get("summary") else None
        ev_size = _size(rd.events)
        unchanged = bool(doc) and doc.get("run_json_mtime") == rj_mtime and doc.get("events_size") == ev_size
        summary = previous if unchanged and previous else summarize(rd.events, previous)
        return RunView(rd, record, summary), not unchanged

    @staticmethod
    def _doc(view: RunView) -> dict[str, Any]:
        return {
            "id": view.id,
            "record": view.record,
            "summary": view.summary.to_dict(),
            "run_json_mtime": _mtime(view.dir.run_json),
            "events_size": view.summary.offset if view.summary.offset else _size(view.dir.events),
        }

    def get(self, ref: str) -> RunView:
        """A run by exact id, unique id prefix, or name (the newest run with that name)."""
        rd = RunDir(self.root / ref)
        # Only a plain folder name is looked up directly: `..`, `/` or `~` must never leave the run store.
        if SAFE_REF.fullmatch(ref) and ".." not in ref and rd.run_json.is_file() and (record := rd.read()):
            return RunView(rd, record, summarize(rd.events))
        views = self.refresh()
        matches = [v for v in views if v.id.startswith(ref)] or [v for v in views if v.record.get("name") == ref]
        if ref == "latest" and views:
            matches = views[:1]
        if len({v.id for v in matches}) == 1 or (matches and all(v.record.get("name") == ref for v in matches)):
            return matches[0]
        if matches:
            raise RunNotFoundError(
                f"Run {ref!r} is ambiguous: it matches {', '.join(v.id for v in matches[:5])}. Give more of the id."
            )
        known = ", ".join(v.id for v in views[:3])
        raise RunNotFoundError(
            f"No run {ref!r} in {self.root}." + (f" Recent runs: {known} (`reins ls` lists all)." if known else
                                                 " The run store is empty.")
        )


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0

"""Listing a damaged run: when run.json is missing or unreadable, derive what we can from the other files."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from engine.runs import events as ev
from engine.runs.rundir import RunDir

LAUNCH_GRACE_S = 60.0  # the launcher writes recipe.yaml before run.json: a young folder is a launch in progress
_HEADER = re.compile(r"^# Resolved recipe of run (\S+) \(from (.+?)(?:, overrides: .*)?\)$")


def is_run_dir(path: Path) -> bool:
    """A folder to list: it has run.json, or (damaged) recipe.yaml/events.jsonl and is past the launch grace."""
    if not path.is_dir() or path.name.startswith("."):
        return False
    rd = RunDir(path)
    if rd.run_json.is_file():
        return True
    # A run folder is one the launcher made: it holds at least one of its first files (other folders are ignored).
    if not any(f.is_file() for f in rd.identity_files):
        return False
    mtime = _mtime(path)
    return mtime is None or time.time() - mtime >= LAUNCH_GRACE_S


def salvage_record(rd: RunDir) -> dict[str, Any]:
    """A stand-in for run.json built from recipe.yaml and events.jsonl, marked `damaged`. Nothing is written."""
    problem = "missing" if not rd.run_json.exists() else "unreadable"
    damaged = f"{rd.run_json.name} is {problem}; listed from {rd.recipe.name} and {rd.events.name}"
    record: dict[str, Any] = {"id": rd.id, "name": rd.id, "damaged": damaged}
    try:
        text = rd.recipe.read_text()
        raw = yaml.safe_load(text) or {}
        header = _HEADER.match(text.splitlines()[0]) if text else None
        if header:
            record["recipe_source"] = header.group(2)
        if isinstance(raw, dict):
            record["method"] = (raw.get("method") or {}).get("name")
            record["model"] = (raw.get("model") or {}).get("name")
    except (OSError, yaml.YAMLError, AttributeError, IndexError):
        pass
    first = ev.read_from(rd.events, max_bytes=64 * 1024).events[:1]
    stamp = first[0].get("t") if first else _mtime(rd.path)
    if stamp:
        record["created"] = datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")
    return record  # no status or pid: readers derive `crashed` unless the events hold a terminal status


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None

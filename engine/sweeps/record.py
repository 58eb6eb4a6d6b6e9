"""A sweep's record (`runs/sweeps/<id>.json`): the plan, its stage runs and members, and each one's state.

Members are ordinary runs with run.json `sweep` ({id, member, label, settings, seed}); the record is rewritten
(atomically, under its lock) whenever a reader refreshes the members' states from their runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.errors import ReinsError
from engine.launching.launcher import QueueRequest, launch, make_run_id
from engine.launching.pipeline import STAGE_REF
from engine.runs.events import TERMINAL_STATUSES
from engine.runs.rundir import now_iso, write_json_atomic
from engine.runs.store import RunStore
from engine.sweeps.plan import Member, short_names
from engine.sweeps.spec import SweepSpec

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def sweeps_dir(runs_root: Path) -> Path:
    return Path(runs_root) / "sweeps"


def record_path(runs_root: Path, ref: str) -> Path:
    """The record of the sweep `ref` names (its id, a unique id prefix, or `latest`). Raises ReinsError if none."""
    folder = sweeps_dir(runs_root)
    if SAFE_ID.fullmatch(ref) and (folder / f"{ref}.json").is_file():
        return folder / f"{ref}.json"
    ids = sorted((p.stem for p in folder.glob("*.json")), reverse=True) if folder.is_dir() else []
    matches = ids[:1] if ref == "latest" else [i for i in ids if i.startswith(ref)]
    if len(matches) == 1:
        return folder / f"{matches[0]}.json"
    if matches:
        raise ReinsError(f"Sweep {ref!r} is ambiguous: it matches {', '.join(matches[:5])}.")
    known = f" Sweeps here: {', '.join(ids[:3])} (`reins sweep ls`)." if ids else " There are no sweeps yet."
    raise ReinsError(f"No sweep {ref!r} in {folder}.{known}")


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def new_record(spec: SweepSpec, members: list[Member], runs_root: Path, name: str,
               source: str) -> tuple[Path, dict[str, Any]]:
    """A new sweep's record at a free path under runs/sweeps/ (not written yet): the plan, every member pending."""
    folder = sweeps_dir(runs_root)
    sweep_id = make_run_id(name)
    path = folder / f"{sweep_id}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{sweep_id}-{n}.json"
    sweep_id = path.stem
    rec: dict[str, Any] = {
        "id": sweep_id, "name": name, "source": source, "recipe": spec.recipe, "description": spec.description,
        "set": spec.set, "grid": spec.grid, "seeds": spec.seeds, "metric": spec.metric, "direction": spec.direction,
        "columns": short_names(list(spec.grid)), "created": now_iso(), "status": "queued",
        "stages": [{"name": s.name, "recipe": s.recipe, "run_id": None, "status": "pending"} for s in spec.stages],
        "members": [{"index": i, **m.to_dict(), "run_id": None, "status": "pending"} for i, m in enumerate(members)],
    }
    return path, rec


def submit(spec: SweepSpec, members: list[Member], runs_root: Path, name: str, source: str,
           priority: int = 0) -> dict[str, Any]:
    """Write the sweep's record, then queue its stage runs and its members (in grid order). Each member is checked
    before this is called; a member that still fails to queue (its data changed meanwhile) is recorded as such."""
    path, rec = new_record(spec, members, runs_root, name, source)
    sweep_id = rec["id"]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, rec)
    stage_ids: dict[str, str] = {}
    queue = QueueRequest(priority)
    with _lock(path):
        for i, stage in enumerate(spec.stages):
            sets = [_fill(s, stage_ids) for s in stage.set]
            view = launch(stage.recipe, sets, name=f"{name}-{stage.name}", runs_dir=runs_root, queue=queue,
                          extra={"sweep": {"id": sweep_id, "stage": stage.name}})
            stage_ids[stage.name] = view.id
            rec["stages"][i].update(run_id=view.id, status=view.status)
            write_json_atomic(path, rec)
        for i, m in enumerate(members):
            sets = [_fill(s, stage_ids) for s in m.overrides]
            member = {"id": sweep_id, "member": i, "label": m.label, "settings": m.point, "seed": m.seed}
            try:
                view = launch(spec.recipe, sets, name=f"{name}-{i + 1}", runs_dir=runs_root, queue=queue,
                              extra={"sweep": member})
            except ReinsError as exc:
                rec["members"][i].update(status="failed", error=str(exc))
            else:
                rec["members"][i].update(run_id=view.id, status=view.status)
            write_json_atomic(path, rec)
    return rec


def _fill(item: str, stage_ids: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in stage_ids:
            raise ReinsError(f"`{{{m.group(1)}}}` names no stage of this sweep (stages: {', '.join(stage_ids)}).")
        return stage_ids[m.group(1)]

    return STAGE_REF.sub(sub, item)


def _lock(path: Path) -> FileLock:
    return FileLock(str(path.with_suffix(".lock")), timeout=60)


def refresh(path: Path, store: RunStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record with every stage's and member's state read from its run (written back when it changed), and the
    runs themselves by id."""
    views = {v.id: v for v in store.refresh()}
    with _lock(path):
        rec = read(path)
        before = json.dumps(rec, sort_keys=True)
        for entry in [*rec.get("stages", []), *rec["members"]]:
            view = views.get(entry.get("run_id") or "")
            if view is not None:
                entry["status"] = view.status
            elif entry.get("run_id") and entry["status"] != "pending":
                # A pending member with a run id is a SLURM array task that has not started yet (its id is fixed
                # when the script is written); once seen, a run that disappears is missing.
                entry["status"] = "missing"
        states = [m["status"] for m in rec["members"]]
        rec["status"] = _overall(states, rec.get("stopped"))
        if json.dumps(rec, sort_keys=True) != before:
            write_json_atomic(path, rec)
    return rec, views


def _overall(states: list[str], stopped: bool | None) -> str:
    """queued / running / stopping while members are alive; then completed (all), stopped, or ended (some not)."""
    live = [s for s in states if s not in TERMINAL_STATUSES and s != "missing"]
    if live:
        return "stopping" if stopped else "queued" if all(s in ("queued", "pending") for s in live) else "running"
    if stopped:
        return "stopped"
    return "completed" if all(s == "completed" for s in states) else "ended"


def list_records(runs_root: Path) -> list[Path]:
    folder = sweeps_dir(runs_root)
    return sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []


def mark_stopped(path: Path) -> dict[str, Any]:
    with _lock(path):
        rec = read(path)
        rec.update(stopped=True, stopped_at=now_iso())
        write_json_atomic(path, rec)
        return rec

"""Annotation sets in the run store: `runs/annotation/<name>-<hash>/` holds set.json, items.jsonl and the journal."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.annotation.items import Item
from engine.errors import ReinsError
from engine.runs.annotations import Journal
from engine.runs.rundir import write_json_atomic

FOLDER = "annotation"  # under the run store; run listings skip it (it holds no run files)
SET_JSON, ITEMS, JOURNAL, JOURNAL_LOCK = "set.json", "items.jsonl", "annotations.jsonl", ".annotations.jsonl.lock"


class SetNotFoundError(ReinsError):
    """No annotation set matches the name given."""


def sets_root(runs_dir: Path) -> Path:
    return Path(runs_dir) / FOLDER


def content_hash(items: list[Item]) -> str:
    """The items' identity: the same candidates make the same set, so annotating a file again resumes it (where the
    file lies is left out: a copied file keeps its set)."""
    text = json.dumps([{k: v for k, v in i.to_dict().items() if k != "source"} for i in items], sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AnnotationSet:
    """One set's folder. set.json is written last, so a folder without it is an interrupted creation."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def journal(self) -> Journal:
        return Journal(self.path / JOURNAL, self.path / JOURNAL_LOCK)

    def info(self) -> dict[str, Any]:
        return json.loads((self.path / SET_JSON).read_text(encoding="utf-8"))

    def items(self) -> list[Item]:
        # Written whole and renamed into place, so every line is complete (no torn-line tolerance needed).
        with open(self.path / ITEMS, encoding="utf-8") as fh:
            return [Item.from_dict(json.loads(line)) for line in fh if line.strip()]

    def records(self) -> list[dict[str, Any]]:
        return self.journal.records()


def create_set(runs_dir: Path, name: str, items: list[Item], origin: dict[str, Any]) -> tuple[AnnotationSet, bool]:
    """The set of these items, made if new (returns it and whether it was made). `origin` says where the items came
    from (`kind`: file or run, and its path or run id), recorded in set.json."""
    digest = content_hash(items)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "set"
    aset = AnnotationSet(sets_root(runs_dir) / f"{slug}-{digest[:8]}")
    if (aset.path / SET_JSON).is_file():
        return aset, False
    aset.path.mkdir(parents=True, exist_ok=True)
    tmp = aset.path / f".{ITEMS}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item.to_dict(), ensure_ascii=False, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, aset.path / ITEMS)
    write_json_atomic(aset.path / SET_JSON, {
        "id": aset.id, "name": name, **origin, "content_hash": digest,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "items": len(items),
        "pairwise": sum(i.pairwise for i in items), "single": sum(not i.pairwise for i in items)})
    return aset, True


def list_sets(runs_dir: Path) -> list[AnnotationSet]:
    """Every complete set in the store, newest first."""
    root = sets_root(runs_dir)
    if not root.is_dir():
        return []
    found = [AnnotationSet(p) for p in root.iterdir() if (p / SET_JSON).is_file()]
    return sorted(found, key=lambda s: s.info().get("created", ""), reverse=True)


def find_set(runs_dir: Path, ref: str) -> AnnotationSet:
    """A set by id, id prefix, name, or `latest`."""
    sets = list_sets(runs_dir)
    if ref == "latest" and sets:
        return sets[0]
    exact = [s for s in sets if s.id == ref]
    matches = exact or [s for s in sets if s.id.startswith(ref)] or [s for s in sets if s.info().get("name") == ref]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(s.id for s in sets[:5]) or "none yet (`reins data annotate FILE` makes one)"
        raise SetNotFoundError(f"no annotation set {ref!r} in {sets_root(runs_dir)}; sets: {known}.")
    raise SetNotFoundError(f"{ref!r} names {len(matches)} annotation sets: "
                           f"{', '.join(s.id for s in matches[:5])}; give more of the id.")

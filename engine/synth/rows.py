"""Output rows of a synth run: the pair in TRL's conversational preference format plus its provenance, appended
and fsynced per batch, and which prompt rows a run has already written (so a resumed run skips them)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.runs.events import ends_torn

PROVENANCE = "synth"  # the field of each output row that says where the pair came from


def pair_row(messages: list[dict[str, str]], chosen: str, rejected: str, source: dict[str, Any],
             provenance: dict[str, Any]) -> dict[str, Any]:
    """A preference row: the prompt (no system turn: the model should behave well without one), both answers as
    assistant messages, the source row's `category` kept for inspection, and `synth` provenance."""
    row: dict[str, Any] = {"prompt": messages, "chosen": [{"role": "assistant", "content": chosen}],
                           "rejected": [{"role": "assistant", "content": rejected}]}
    if "category" in source:
        row["category"] = source["category"]
    row[PROVENANCE] = provenance
    return row


def degenerate(chosen: str, rejected: str) -> str | None:
    """Why a pair teaches nothing (`empty` or `identical`), or None when it is usable."""
    if not chosen.strip() or not rejected.strip():
        return "empty"
    if chosen.strip() == rejected.strip():
        return "identical"
    return None


def append_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Append whole lines and fsync, so a stopped or killed run loses at most the batch it was generating."""
    if not rows:
        return
    torn = ends_torn(path)  # a run killed mid-append: end that line so it costs one unreadable line, not ours
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n" * torn + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        fh.flush()
        os.fsync(fh.fileno())


def written_rows(path: Path, run_id: str) -> set[int]:
    """Indices of the prompt rows this run has written pairs for (a torn last line is ignored: it is redone)."""
    done: set[int] = set()
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return done
    with fh:
        for line in fh:
            try:
                prov = json.loads(line).get(PROVENANCE) or {}
            except (json.JSONDecodeError, AttributeError):
                continue
            if prov.get("run") == run_id and isinstance(prov.get("row"), int):
                done.add(prov["row"])
    return done


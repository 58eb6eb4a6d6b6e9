"""An annotation set's decisions as training data: TRL preference rows (prompt, chosen, rejected) or, with `kto`,
KTO rows (prompt, completion, label); each row carries its provenance (set, item, source, annotators)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.annotation.items import Item
from engine.annotation.session import ItemView, Session
from engine.annotation.sets import AnnotationSet
from engine.errors import ReinsError


class ExportError(ReinsError):
    """Nothing can be exported (no decisions yet, or only conflicting ones)."""


def annotators(aset: AnnotationSet) -> list[str]:
    """Everyone who wrote to the set's journal, in the order they first did."""
    seen: dict[str, None] = {}
    for record in aset.records():
        who = (record.get("source") or {}).get("annotator") if isinstance(record.get("source"), dict) else None
        if who:
            seen.setdefault(str(who), None)
    return list(seen)


def views_by_item(aset: AnnotationSet, only: str | None = None) -> dict[str, dict[str, ItemView]]:
    """Item id → annotator → that annotator's view of it (their decision as it stands after undos)."""
    out: dict[str, dict[str, ItemView]] = {}
    for name in ([only] if only else annotators(aset)):
        for view in Session(aset, name).views:
            out.setdefault(view.item.id, {})[name] = view
    return out


def _answer(item: Item, text: str) -> Any:
    # A conversational prompt gets conversational answers, as TRL's conversational format wants.
    return [{"role": "assistant", "content": text}] if isinstance(item.prompt, list) else text


@dataclass
class Exported:
    """What an export wrote and what it left out, with why."""

    path: Path
    rows: int = 0
    items: int = 0
    decided: int = 0
    conflicts: list[str] = field(default_factory=list)  # items two annotators decided differently: left out
    kto: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "rows": self.rows, "items": self.items, "decided": self.decided,
                "conflicts": self.conflicts, "format": "kto" if self.kto else "preference"}


def _pairs(item: Item, views: list[ItemView]) -> list[tuple[str, str]]:
    """(chosen, rejected) texts the annotators' views of one item give, without repeats."""
    out: list[tuple[str, str]] = []
    texts = {a["who"]: a["text"] for a in item.answers}
    for v in views:
        preferred = v.preferred
        if v.edit:
            # A better answer beats the answer(s) the person did not prefer (both when they preferred neither).
            losers = [t for who, t in texts.items() if who != preferred] if preferred in texts else list(texts.values())
            out += [(v.edit, t) for t in losers]
        elif item.pairwise and preferred in texts:
            out += [(texts[preferred], t) for who, t in texts.items() if who != preferred]
    return list(dict.fromkeys(out))


def _unpaired(item: Item, views: list[ItemView]) -> list[tuple[str, bool]]:
    """(completion, desirable) the annotators' views of one item give, without repeats."""
    out: list[tuple[str, bool]] = []
    texts = {a["who"]: a["text"] for a in item.answers}
    for v in views:
        preferred = v.preferred
        if v.edit:
            out.append((v.edit, True))
        if preferred in ("up", "down"):
            out.append((item.answers[0]["text"], preferred == "up"))
        elif preferred in texts:
            out += [(t, who == preferred) for who, t in texts.items()]
    return list(dict.fromkeys(out))


def _conflict(views: list[ItemView]) -> bool:
    decided = {v.preferred for v in views if v.preferred not in (None, "tie")}
    return len(decided) > 1


def export(aset: AnnotationSet, out: Path, kto: bool = False, annotator: str | None = None) -> Exported:
    """Write the set's decisions to `out` (JSON lines); items annotators disagree on are left out and listed."""
    by_item = views_by_item(aset, annotator)
    result = Exported(Path(out), kto=kto)
    rows = []
    for item in aset.items():
        result.items += 1
        views = [v for v in by_item.get(item.id, {}).values() if v.done]
        if not views:
            continue
        result.decided += 1
        if _conflict(views):
            result.conflicts.append(item.id)
            continue
        provenance = {"set": aset.id, "item": item.id, "source": item.source,
                      "annotators": sorted({v.state["annotator"] for v in views if v.state}),
                      "decision": [v.preferred for v in views], "edited": any(v.edit for v in views),
                      "notes": [v.note for v in views if v.note]}
        if kto:
            rows += [{"prompt": item.prompt, "completion": _answer(item, text), "label": label,
                      "provenance": provenance} for text, label in _unpaired(item, views)]
        else:
            rows += [{"prompt": item.prompt, "chosen": _answer(item, c), "rejected": _answer(item, r),
                      "provenance": provenance} for c, r in _pairs(item, views)]
    if not rows:
        why = f"{len(result.conflicts)} decided differently by two annotators" if result.conflicts else \
            "none gives a pair (decide A or B, or write a better answer with e)" if not kto else "none rated"
        raise ExportError(f"nothing to export from {aset.id}: {result.decided} of {result.items} items handled, "
                          f"{why}.")
    result.rows = len(rows)
    tmp = result.path.with_name(f".{result.path.name}.tmp")
    result.path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
    os.replace(tmp, result.path)
    return result

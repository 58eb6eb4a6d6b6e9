"""The Annotate and Data screens' text, computed without widgets: the progress line, the answer panels' titles, what
a decision looks like, and one row per annotation set."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

# Side by side needs room for two readable answers; below this width they stack (an 80-column terminal).
SIDE_BY_SIDE_MIN = 100
SHOWN_CHOICE = {"a": "A is better", "b": "B is better", "tie": "tie", "skip": "skipped", "up": "good",
                "down": "bad"}


def progress_line(position: int, total: int, done: int) -> str:
    """`item 5 of 10 · 4 done`."""
    return f"item {position} of {total} · {done} done"


def decision_text(view: Any) -> str:
    """What the person has said about this item so far, e.g. `A is better · edited · note: too long`."""
    parts = [SHOWN_CHOICE.get(view.choice, "")] if view.choice else []
    if view.edit:
        parts.append("better answer written")
    if view.note:
        parts.append(f"note: {view.note}")
    return " · ".join(parts) if parts else "not decided yet"


def keys_line(pairwise: bool) -> str:
    """The keys for this kind of item."""
    decide = "a/b A/B better · t tie" if pairwise else "a good · b bad"
    return f"{decide} · s skip · u undo · e better answer · n note · ←→ move"


def answer_titles(pairwise: bool) -> tuple[str, ...]:
    return ("A", "B") if pairwise else ("answer",)


def set_row(s: Any, annotator: str) -> tuple[str, str, str, str]:
    """(set, from, items, progress) for the Data screen: this annotator's progress first, then the others'."""
    mine = s.done.get(annotator, 0)
    others = ", ".join(f"{who} {n}" for who, n in s.done.items() if who != annotator)
    progress = f"{mine}/{s.items} yours" + (f" · {others}" if others else "")
    source = PurePath(s.source).name if s.kind == "file" else s.source  # the folder is in `reins data annotations ls`
    return s.id, f"{s.kind} {source}", str(s.items), progress

"""One annotator on one set: the order they see (randomised per annotator and per item, recorded), their decisions
as they stand after undos, and appending choose / edit / note / undo records to the set's journal."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from engine.annotation.items import Item
from engine.annotation.sets import AnnotationSet
from engine.errors import ReinsError
from engine.runs.annotations import latest

PAIR_CHOICES = ("a", "b", "tie", "skip")
RATING_CHOICES = ("up", "down", "skip")
# A rating item (one answer) is answered with the same keys as a pair: a = good, b = bad.
RATING_OF = {"a": "up", "b": "down", "skip": "skip"}


class DecisionError(ReinsError):
    """A decision that cannot be recorded (unknown choice, no such item, nothing to undo)."""


def sequence(set_id: str, annotator: str, n: int) -> list[int]:
    """The order in which `annotator` sees the items: a shuffle seeded by set and annotator (the same every time, so
    a resumed session keeps it; different per annotator, so no two people share an order effect)."""
    order = list(range(n))
    random.Random(f"{set_id}/{annotator}/order").shuffle(order)
    return order


def swapped(set_id: str, annotator: str, item_id: str) -> bool:
    """Whether this annotator sees the item's second answer as A (seeded per item and annotator)."""
    return random.Random(f"{set_id}/{annotator}/{item_id}").random() < 0.5


@dataclass(frozen=True)
class ItemView:
    """An item as one annotator sees it: its place in their order, answers A and B in shown order, the state."""

    item: Item
    position: int  # 1-based place in this annotator's order
    shown: list[dict[str, str]]  # the answers as A (and B)
    state: dict[str, Any] | None  # the latest record about it after undos (None: never touched)

    @property
    def choice(self) -> str | None:
        return (self.state or {}).get("choice")

    @property
    def edit(self) -> str | None:
        return (self.state or {}).get("edit")

    @property
    def note(self) -> str | None:
        return (self.state or {}).get("note")

    @property
    def done(self) -> bool:
        """Handled: decided, skipped, or given a better answer."""
        return self.choice is not None or bool(self.edit)

    @property
    def preferred(self) -> str | None:
        """Who the person prefers, in the item's terms: an answer's `who`, `tie`, `up`/`down`, or None."""
        choice = self.choice
        if choice in ("a", "b") and self.item.pairwise:
            return self.shown[0 if choice == "a" else 1]["who"]
        return choice if choice in ("tie", "up", "down") else None


class Session:
    """What `annotator` has done on a set, read from its journal; each action appends one record and re-reads."""

    def __init__(self, aset: AnnotationSet, annotator: str) -> None:
        if not annotator.strip():
            raise DecisionError("say who is annotating: --annotator NAME (decisions are kept per person).")
        self.set, self.annotator = aset, annotator
        items = aset.items()
        self.items = [items[i] for i in sequence(aset.id, annotator, len(items))]
        self.views: list[ItemView] = []
        self.reload()

    def _mine(self, record: dict[str, Any]) -> bool:
        source = record.get("source")
        return isinstance(source, dict) and source.get("annotator") == self.annotator \
            and source.get("set") == self.set.id

    def reload(self) -> None:
        """Fold the journal: an undo record takes back this annotator's latest action not yet taken back."""
        mine = [r for r in self.set.records() if self._mine(r)]
        stack: list[dict[str, Any]] = []
        for record in mine:
            if record.get("action") == "undo":
                if stack:
                    stack.pop()
            else:
                stack.append(record)
        self.stack = stack
        states = {r["source"].get("item"): r for r in latest(mine)}  # undo records carry the state they restore
        self.views = []
        for position, item in enumerate(self.items, 1):
            shown = item.answers[::-1] if item.pairwise and swapped(self.set.id, self.annotator, item.id) \
                else list(item.answers)
            self.views.append(ItemView(item, position, shown, states.get(item.id)))

    @property
    def done(self) -> int:
        return sum(v.done for v in self.views)

    def next_open(self, after: int = -1) -> int | None:
        """The index of the first item not yet handled after `after` (wrapping round), or None when all are."""
        n = len(self.views)
        for k in range(1, n + 1):
            i = (after + k) % n
            if not self.views[i].done:
                return i
        return None

    def resume_at(self) -> int:
        """Where a reopened session starts: the first item not handled, else the last one."""
        found = self.next_open()
        return found if found is not None else max(len(self.views) - 1, 0)

    def _record(self, view: ItemView, action: str, **state: Any) -> dict[str, Any]:
        item = view.item
        record: dict[str, Any] = {
            "kind": "pairwise" if item.pairwise else "rating",
            "source": {"set": self.set.id, "item": item.id, "annotator": self.annotator},
            "action": action, "position": view.position, "prompt": item.prompt_text}
        if item.pairwise:
            record["a"], record["b"] = view.shown
            judge = item.judge
            record["judge"] = "tie" if judge == "tie" else next(
                (side for side, ans in zip("ab", view.shown, strict=True) if ans["who"] == judge), None)
        else:
            record["answer"] = view.shown[0]
        record.update(choice=None, edit=None, note=None)
        record.update({k: v for k, v in (view.state or {}).items() if k in ("choice", "edit", "note")})
        record.update(state)
        record["annotator"] = self.annotator
        return record

    def _append(self, record: dict[str, Any]) -> dict[str, Any]:
        written = self.set.journal.append(record)
        self.reload()
        return written

    def _view(self, index: int) -> ItemView:
        if not 0 <= index < len(self.views):
            raise DecisionError(f"no item {index + 1}: the set has {len(self.views)}.")
        return self.views[index]

    def choose(self, index: int, choice: str) -> dict[str, Any]:
        """Record a decision on item `index` (in this annotator's order): a, b, tie or skip (a single answer: a or
        up = good, b or down = bad, skip)."""
        view = self._view(index)
        if not view.item.pairwise:
            choice = RATING_OF.get(choice, choice)
        allowed = PAIR_CHOICES if view.item.pairwise else RATING_CHOICES
        if choice not in allowed:
            raise DecisionError(f"unknown decision {choice!r}: say one of {', '.join(allowed)}.")
        return self._append(self._record(view, "choose", choice=choice))

    def edit(self, index: int, text: str) -> dict[str, Any]:
        """Record a better answer for item `index`: it becomes the chosen answer of the exported pair(s)."""
        if not text.strip():
            raise DecisionError("an edited answer cannot be empty.")
        return self._append(self._record(self._view(index), "edit", edit=text))

    def note(self, index: int, text: str) -> dict[str, Any]:
        """Keep a note with item `index` (its decision stays)."""
        return self._append(self._record(self._view(index), "note", note=text.strip() or None))

    def undo(self) -> int:
        """Take back this annotator's latest action; returns the index of the item it was about."""
        if not self.stack:
            raise DecisionError("nothing to undo.")
        top = self.stack[-1]
        item_id = top["source"].get("item")
        index = next(i for i, v in enumerate(self.views) if v.item.id == item_id)
        # The item's state before that action: its previous record still on the stack, else untouched.
        before = next((r for r in reversed(self.stack[:-1]) if r["source"].get("item") == item_id), None)
        state = {k: (before or {}).get(k) for k in ("choice", "edit", "note")}
        view = ItemView(self.views[index].item, self.views[index].position, self.views[index].shown, None)
        self._append(self._record(view, "undo", **state))
        return index

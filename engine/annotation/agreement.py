"""How far annotators agree on a set: Cohen's κ between every two annotators, and each annotator against the
data's own label (a pairs file's chosen) and against a judge (a run's sample winners)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

from engine.annotation.export import views_by_item
from engine.annotation.sets import AnnotationSet
from engine.verdict.agreement import cohen_kappa


@dataclass(frozen=True)
class Comparison:
    """Two raters over the items both decided: how many, how many the same, and κ."""

    left: str
    right: str
    n: int
    agree: int
    kappa: float | None

    @property
    def rate(self) -> float | None:
        return self.agree / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        return {"left": self.left, "right": self.right, "n": self.n, "agree": self.agree, "rate": self.rate,
                "kappa": self.kappa}


def _compare(left: str, right: str, pairs: list[tuple[str, str]]) -> Comparison:
    return Comparison(left, right, len(pairs), sum(x == y for x, y in pairs), cohen_kappa(pairs))


def set_agreement(aset: AnnotationSet) -> list[Comparison]:
    """Annotator vs annotator (each two), then each annotator vs `label` and vs `judge` where the items have them.
    Skipped and undecided items count for neither side."""
    by_item = views_by_item(aset)
    items = {i.id: i for i in aset.items()}
    names = sorted({name for views in by_item.values() for name in views})
    decided = {(iid, name): v.preferred for iid, views in by_item.items() for name, v in views.items()
               if v.preferred is not None}
    out = []
    for a, b in combinations(names, 2):
        out.append(_compare(a, b, [(decided[i, a], decided[i, b]) for i in items
                                   if (i, a) in decided and (i, b) in decided]))
    for other in ("label", "judge"):
        for name in names:
            pairs = [(p, getattr(items[i], other)) for (i, who), p in decided.items()
                     if who == name and i in items and getattr(items[i], other)]
            if pairs:
                out.append(_compare(name, other, pairs))
    return out

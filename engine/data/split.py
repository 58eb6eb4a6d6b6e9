"""`reins data split`: a train/eval split stratified by category, with every copy of a prompt kept on one side (a
prompt in both halves would leak into the eval figures)."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from engine.data.text import prompt_key


def split_indices(rows: list[dict[str, Any]], eval_fraction: float, seed: int = 0,
                  category: str | None = None) -> tuple[list[int], list[int]]:
    """(train, eval) row indices: in each category (one group without a category field) `eval_fraction` of its
    rows, rounded, go to eval — whole prompt groups at a time, drawn at random with `seed`."""
    strata: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, row in enumerate(rows):
        key = prompt_key(row.get("prompt")) or f"#row{i}"  # rows without a prompt are their own group
        strata[str(row.get(category)) if category else ""][key].append(i)
    rng = random.Random(seed)
    held: list[int] = []
    for name in sorted(strata):
        groups = list(strata[name].values())
        rng.shuffle(groups)
        want = round(sum(len(g) for g in groups) * eval_fraction)
        taken = 0
        for group in groups:
            if taken >= want:
                break
            held += group
            taken += len(group)
    held_set = set(held)
    return [i for i in range(len(rows)) if i not in held_set], sorted(held)

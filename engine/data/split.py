"""`reins data split`: a train/eval split stratified by category, with every copy of a prompt kept on one side (a
prompt in both halves would leak into the eval figures)."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from engine.data.context import DataContext, read_for_tool
from engine.data.reading import load_records
from engine.data.text import category_field, prompt_key
from engine.data.writing import check_writable, write_jsonl
from engine.errors import DataError


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


def split_file(path: str | Path, train_out: str | Path, eval_out: str | Path, eval_fraction: float = 0.1,
               seed: int = 0, category: str | None = None, fmt: str | None = None,
               force: bool = False) -> dict[str, Any]:
    """Write the rows of `path` (as they are in the file) to `train_out` and `eval_out`, split by
    `split_indices` on the category field named or found, and say how many of each category went where."""
    if not 0 < eval_fraction < 1:
        raise DataError(f"--eval-fraction must be between 0 and 1 (got {eval_fraction:g}).")
    for out in (train_out, eval_out):
        check_writable(Path(out).expanduser(), force)
    data = read_for_tool(path, DataContext(), fmt, strict=True)
    raw = load_records(str(Path(path).expanduser()))
    if category and any(category not in r for r in data.rows):
        raise DataError(f"{path}: not every row has the field `{category}` to stratify by.")
    field = category_field(data.rows, category)
    train_idx, eval_idx = split_indices(data.rows, eval_fraction, seed, field)
    write_jsonl(Path(train_out), [raw[i] for i in train_idx], force)
    write_jsonl(Path(eval_out), [raw[i] for i in eval_idx], force)
    per: dict[str, dict[str, int]] = {}
    for side, idx in (("train", train_idx), ("eval", eval_idx)):
        for i in idx if field else []:
            per.setdefault(str(data.rows[i].get(field)), {"train": 0, "eval": 0})[side] += 1
    return {"source": str(path), "format": data.format, "rows": len(raw), "train": len(train_idx),
            "eval": len(eval_idx), "train_out": str(train_out), "eval_out": str(eval_out), "seed": seed,
            "category_field": field, "categories": per}


"""`reins data sample`: a random handful of rows to read side by side (the seed lesson's "spot-check 50 pairs")."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from engine.data.context import DataContext, read_for_tool
from engine.data.text import answer_text, prompt_text
from engine.errors import DataError


def sample_rows(rows: list[dict[str, Any]], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """`n` rows drawn without replacement (all of them when there are fewer), each as its 1-based row number, its
    prompt's text and the text of each answer it has, in file order."""
    picked = sorted(random.Random(seed).sample(range(len(rows)), min(n, len(rows))))
    out = []
    for i in picked:
        row = rows[i]
        item: dict[str, Any] = {"row": i + 1, "prompt": prompt_text(row["prompt"]) if row.get("prompt") else ""}
        for field in ("chosen", "rejected", "completion", "messages", "text"):
            if row.get(field) is not None:
                item[field] = answer_text(row[field]) if field != "messages" else prompt_text(row[field])
        if "label" in row:
            item["label"] = row["label"]
        out.append(item)
    return out


def sample_file(path: str | Path, n: int, seed: int, ctx: DataContext, fmt: str | None = None) -> dict[str, Any]:
    """`sample_rows` of a file whose every row was checked first."""
    if n < 1:
        raise DataError(f"-n must be at least 1 (got {n}).")
    data = read_for_tool(path, ctx, fmt, strict=True)
    return {"source": data.source, "format": data.format, "rows": len(data.rows), "seed": seed,
            "sample": sample_rows(data.rows, n, seed)}


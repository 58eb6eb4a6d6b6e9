"""`reins data inspect`: what a data file holds before anyone trains on it — rows and format, token lengths per
field, rows over max_length, duplicate prompts, pairs whose answers barely differ, length bias, empty answers, and
the same figures per category."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from engine.data.context import DataContext, counting, method_fields, read_for_tool
from engine.data.reading import DataFile
from engine.data.text import answer_text, category_field, prompt_key
from engine.data.tokens import Counter as TokenCounter
from engine.data.tokens import Counting, row_lengths
from engine.verdict.judge import Tally

NEAR = 95.0  # rapidfuzz ratio (0–100) from which two texts count as nearly the same
NEAR_LIMIT = 5000  # near-duplicate search is quadratic: only the first rows are compared on a bigger file
LENGTH_FIELDS = ("prompt", "chosen", "rejected", "completion", "messages", "text")
SHOWN = 5


def percentiles(values: list[int]) -> dict[str, int]:
    """p50, p95 and max (nearest rank: values that occurred)."""
    ordered = sorted(values)
    at = {"p50": 0.5, "p95": 0.95}
    return {**{k: ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] for k, q in at.items()},
            "max": ordered[-1]}


def length_bias(rows: list[dict[str, Any]], count: TokenCounter) -> dict[str, Any] | None:
    """How often the chosen answer is the longer one (ties count half, Wilson 95% interval) and the geometric
    mean of chosen/rejected lengths: DPO learns length when chosen is systematically longer."""
    pairs = [(count(r["chosen"]), count(r["rejected"])) for r in rows if r.get("chosen") and r.get("rejected")]
    if not pairs:
        return None
    tally = Tally(sum(c > r for c, r in pairs), sum(c == r for c, r in pairs), sum(c < r for c, r in pairs))
    ratios = [math.log(c / r) for c, r in pairs if c > 0 and r > 0]
    low, high = tally.interval() or (0.0, 1.0)
    return {"pairs": tally.n, "chosen_longer": tally.wins, "same_length": tally.ties, "chosen_shorter": tally.losses,
            "share_chosen_longer": round(tally.win_rate or 0.0, 4), "ci95": [round(low, 4), round(high, 4)],
            "length_ratio": round(math.exp(statistics.fmean(ratios)), 3) if ratios else None}


def duplicate_prompts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Prompts that appear more than once (exactly, case and spacing aside) and pairs that nearly match."""
    keys = [prompt_key(r.get("prompt")) for r in rows]
    repeated = {k: n for k, n in Counter(k for k in keys if k).items() if n > 1}
    distinct = list(dict.fromkeys(k for k in keys if k))[:NEAR_LIMIT]
    near = []
    if len(distinct) > 1:
        scores = process.cdist(distinct, distinct, scorer=fuzz.ratio, score_cutoff=NEAR, workers=1)
        for i, j in zip(*scores.nonzero(), strict=True):
            if i < j:
                near.append({"a": distinct[i], "b": distinct[j], "score": round(float(scores[i, j]), 1)})
    return {"exact_groups": len(repeated), "exact_rows": sum(repeated.values()) - len(repeated),
            "exact_examples": sorted(repeated, key=lambda k: -repeated[k])[:SHOWN],
            "near_pairs": len(near), "near_examples": near[:SHOWN], "compared": len(distinct)}


def similar_answers(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Pairs whose chosen and rejected are identical or nearly so (nothing for the model to learn from them)."""
    identical, near = [], []
    for n, r in enumerate(rows, 1):
        if not (r.get("chosen") and r.get("rejected")):
            continue
        a, b = answer_text(r["chosen"]), answer_text(r["rejected"])
        if a.strip() == b.strip():
            identical.append(n)
        elif fuzz.ratio(a, b) >= NEAR:
            near.append(n)
    return {"identical": len(identical), "identical_rows": identical[:SHOWN * 2], "near_identical": len(near),
            "near_identical_rows": near[:SHOWN * 2]}


def empty_answers(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Per answer field, how many rows hold an empty or whitespace-only answer."""
    out: dict[str, int] = {}
    for field in ("chosen", "rejected", "completion"):
        present = [r[field] for r in rows if field in r]
        if present:
            out[field] = sum(1 for v in present if v is None or not answer_text(v).strip())
    return out


def inspect_rows(data: DataFile, fields: list[str], lengths_in: Counting, max_length: int,
                 category: str | None = None) -> dict[str, Any]:
    """Every figure of `reins data inspect` for normalised rows (`fields`: what the method trains on)."""
    rows, count = data.rows, lengths_in.count
    lengths = {f: percentiles([count(r[f]) for r in rows if r.get(f) is not None])
               for f in LENGTH_FIELDS if any(r.get(f) is not None for r in rows)}
    totals = row_lengths(rows, fields, count) if rows else []
    report: dict[str, Any] = {
        "source": data.source, "format": data.format, "rows": len(rows), "fields": sorted({k for r in rows for k in r}),
        "problems": data.problems, "unit": lengths_in.unit, "tokenizer": lengths_in.tokenizer, "lengths": lengths,
        "row_length": percentiles(totals) if totals else None, "max_length": max_length,
        "over_max_length": sum(1 for n in totals if n > max_length),
        "duplicate_prompts": duplicate_prompts(rows), "empty_answers": empty_answers(rows),
    }
    if any("chosen" in r for r in rows):
        report["length_bias"] = length_bias(rows, count)
        report["similar_answers"] = similar_answers(rows)
    if any("label" in r for r in rows):
        report["labels"] = {"desirable": sum(r.get("label") is True for r in rows),
                            "undesirable": sum(r.get("label") is False for r in rows)}
    field = category_field(rows, category)
    if field:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            groups[str(r.get(field))].append(r)
        report["category_field"] = field
        report["categories"] = {name: {"rows": len(g), **({"length_bias": length_bias(g, count)}
                                                          if "length_bias" in report else {})}
                                for name, g in sorted(groups.items())}
    return report


def inspect_file(path: str | Path, ctx: DataContext, fmt: str | None = None, category: str | None = None,
                 runs_root: Path | None = None) -> dict[str, Any]:
    """`inspect_rows` on a file as the recipe `ctx` reads it, counting with its model's tokenizer."""
    data = read_for_tool(path, ctx, fmt, strict=False)
    report = inspect_rows(data, method_fields(ctx, data.rows), counting(ctx, runs_root), ctx.max_length, category)
    return {**report, "recipe": ctx.recipe, "method": ctx.method}


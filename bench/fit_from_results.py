"""Fit the memory estimator's uncertain terms to a GPU check's results: one scale factor per free term.

    .venv/bin/python bench/fit_from_results.py bench/results/<date>-h200/gpu_check.csv [--free activations,logits]

Model: measured peak + CUDA context ≈ Σ factorₜ · termₜ, where the terms are the estimate's own (the CSV's
`term_*_gib` columns, `engine/estimate/memory.py`), the free terms get a fitted factor and the others keep 1. The
fit minimises the relative error (each row divided by its measured peak), so small and large models count alike.
Prints the factors and the per-method error before and after; what to change in `memory.py` is then one constant
per term, and the estimate and catalogue tests must still pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpu_report import TERMS, read_csv, signed_error  # noqa: E402
from vram_validate import error_table  # noqa: E402
from vram_validate import markdown as error_markdown  # noqa: E402

CONTEXT_GIB = 0.5  # the estimate's CUDA context, inside its "overhead" term but outside the allocator's peak
DEFAULT_FREE = ("activations", "logits", "extra models")
TARGETS = {"reserved": "measured_reserved_gib", "allocated": "measured_allocated_gib"}


def column(term: str) -> str:
    return f"term_{term.replace(' ', '_')}_gib"


def usable(rows: list[dict[str, Any]], target: str) -> list[dict[str, Any]]:
    """Reins points that completed with a measured peak and the estimate's terms."""
    out = []
    for r in rows:
        try:
            ok = r.get("runner", "reins") == "reins" and r.get("status") == "completed" and float(r[target]) > 0
        except (KeyError, TypeError, ValueError):
            ok = False
        if ok and all(r.get(column(t)) not in (None, "") for t in TERMS):
            out.append(r)
    return out


def predict(row: dict[str, Any], factors: dict[str, float]) -> float:
    """The allocator figure the (scaled) terms give: their sum without the CUDA context."""
    return sum(factors.get(t, 1.0) * float(row[column(t)]) for t in TERMS) - CONTEXT_GIB


def fit(rows: list[dict[str, Any]], free: tuple[str, ...] = DEFAULT_FREE, target: str = TARGETS["reserved"]
        ) -> dict[str, float]:
    """Least-squares factors of the free terms (relative error); a term that is zero on every row keeps 1."""
    rows = usable(rows, target)
    if not rows:
        raise SystemExit("no completed Reins point with a measured peak in the results")
    live = [t for t in free if any(float(r[column(t)]) > 0 for r in rows)]
    fixed = [t for t in TERMS if t not in live]
    measured = np.array([float(r[target]) for r in rows])
    a = np.array([[float(r[column(t)]) for t in live] for r in rows]) / measured[:, None]
    rest = np.array([sum(float(r[column(t)]) for t in fixed) - CONTEXT_GIB for r in rows])
    b = (measured - rest) / measured
    factors = {t: 1.0 for t in TERMS}
    if live:
        solution, *_ = np.linalg.lstsq(a, b, rcond=None)
        factors.update({t: round(float(x), 4) for t, x in zip(live, solution, strict=True)})
    return factors


def errors(rows: list[dict[str, Any]], factors: dict[str, float], target: str) -> list[dict[str, Any]]:
    return [{"method": r["method"], "error_pct": signed_error(predict(r, factors), float(r[target]))}
            for r in usable(rows, target)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--free", default=",".join(DEFAULT_FREE), help=f"terms to fit (of: {', '.join(TERMS)})")
    ap.add_argument("--target", choices=sorted(TARGETS), default="reserved")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    free = tuple(t.strip() for t in args.free.split(",") if t.strip())
    unknown = [t for t in free if t not in TERMS]
    if unknown or not args.csv.is_file():
        print(f"unknown terms: {', '.join(unknown)} (known: {', '.join(TERMS)})" if unknown
              else f"{args.csv}: no such file", file=sys.stderr)
        return 2
    rows, target = read_csv(args.csv), TARGETS[args.target]
    factors = fit(rows, free, target)
    before = error_table(errors(rows, {}, target))
    after = error_table(errors(rows, factors, target))
    if args.json:
        print(json.dumps({"factors": factors, "before": before, "after": after}))
        return 0
    print("fitted factors: " + ", ".join(f"{t} × {factors[t]}" for t in free))
    print("\nerror with the estimator as it is:\n" + error_markdown(before))
    print("error with the fitted factors:\n" + error_markdown(after))
    return 0


if __name__ == "__main__":
    sys.exit(main())

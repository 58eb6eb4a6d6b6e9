"""The words of a `reins data inspect` report as plain lines and table rows, shared by the CLI's and the TUI's views
so both say the same figures the same way (each adds its own layout and colour)."""

from __future__ import annotations

from typing import Any

PROBLEMS_SHOWN = 8
NEAR_EXAMPLES_SHOWN = 3
ROW_LABEL = "row (prompt + longest answer)"


def bias_line(bias: dict[str, Any]) -> str:
    """`chosen longer in 26% of 288 pairs (95% CI 21%–31%; 2 equal), mean length ratio chosen/rejected 0.72×`."""
    low, high = bias["ci95"]
    ratio = f", mean length ratio chosen/rejected {bias['length_ratio']:.2f}×" if bias["length_ratio"] else ""
    return (f"chosen longer in {bias['share_chosen_longer']:.0%} of {bias['pairs']} pairs (95% CI {low:.0%}–"
            f"{high:.0%}; {bias['same_length']} equal){ratio}")


def header_line(r: dict[str, Any]) -> str:
    """The file, its rows and format, the recipe it was read for, and its fields."""
    recipe = f", as recipe {r['recipe']} (method {r['method']}) reads it" if r.get("recipe") else ""
    return f"{r['source']}: {r['rows']} rows, format {r['format']}{recipe}; fields {', '.join(r['fields'])}"


def problem_lines(r: dict[str, Any]) -> list[str]:
    """The first problems met reading the file, then how many more there were."""
    problems = r["problems"]
    more = len(problems) - PROBLEMS_SHOWN
    return problems[:PROBLEMS_SHOWN] + ([f"… and {more} more"] if more > 0 else [])


def lengths_title(r: dict[str, Any]) -> str:
    """`Lengths in tokens (smollm2-135m-instruct)`, or in words when no tokenizer was found."""
    return f"Lengths in {r['unit']}" + (f" ({r['tokenizer']})" if r["tokenizer"] else "")


def length_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(field, p50, p95, max) per field, then the whole row's length (what truncation cuts)."""
    rows = [(field, str(q["p50"]), str(q["p95"]), str(q["max"])) for field, q in r["lengths"].items()]
    if r["row_length"]:
        q = r["row_length"]
        rows.append((ROW_LABEL, str(q["p50"]), str(q["p95"]), str(q["max"])))
    return rows


def check_lines(r: dict[str, Any]) -> list[tuple[str, bool]]:
    """One line per check, each with whether it needs a look (something over, repeated, identical or empty)."""
    over = r["over_max_length"]
    lines = [(f"{over} row(s) over max_length={r['max_length']}", bool(over))]
    dup = r["duplicate_prompts"]
    lines.append((f"duplicate prompts: {dup['exact_rows']} repeated row(s) in {dup['exact_groups']} group(s); "
                  f"{dup['near_pairs']} near-duplicate pair(s) among {dup['compared']} distinct prompts",
                  bool(dup["exact_rows"] or dup["near_pairs"])))
    lines += [(f"  ≈ {ex['a'][:70]} | {ex['b'][:70]} ({ex['score']})", False)
              for ex in dup["near_examples"][:NEAR_EXAMPLES_SHOWN]]
    if "similar_answers" in r:
        s = r["similar_answers"]
        both = s["identical"] + s["near_identical"]
        rows = f" (rows {', '.join(map(str, s['identical_rows'] + s['near_identical_rows']))})" if both else ""
        lines.append((f"chosen = rejected: {s['identical']} identical, {s['near_identical']} near-identical{rows}",
                      bool(both)))
    if r.get("length_bias"):
        lines.append(("length bias: " + bias_line(r["length_bias"]), False))
    empty = {k: v for k, v in r["empty_answers"].items() if v}
    lines.append(("empty or whitespace answers: " + (", ".join(f"{k} {v}" for k, v in empty.items()) or "none"),
                  bool(empty)))
    if r.get("labels"):
        lines.append((f"labels: {r['labels']['desirable']} desirable, {r['labels']['undesirable']} undesirable",
                      False))
    return lines


def category_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(category, rows, its length-bias line or "") per category; empty when the file has none."""
    return [(name, str(c["rows"]), bias_line(c["length_bias"]) if c.get("length_bias") else "")
            for name, c in (r.get("categories") or {}).items()]

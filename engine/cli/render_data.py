"""Rich views of `reins data inspect` and `reins data sample`."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

SIDE_BY_SIDE_MIN = 100  # columns below which a pair's answers are stacked


def _bias_line(bias: dict[str, Any]) -> str:
    low, high = bias["ci95"]
    ratio = f", mean length ratio chosen/rejected {bias['length_ratio']:.2f}×" if bias["length_ratio"] else ""
    return (f"chosen longer in {bias['share_chosen_longer']:.0%} of {bias['pairs']} pairs (95% CI {low:.0%}–"
            f"{high:.0%}; {bias['same_length']} equal){ratio}")


def inspect_view(r: dict[str, Any]) -> RenderableType:
    """The inspect report: header, problems, lengths table, then one line per check."""
    unit = r["unit"] + (f" ({r['tokenizer']})" if r["tokenizer"] else "")
    parts: list[RenderableType] = [Text.from_markup(
        f"[bold]{escape(r['source'])}[/]: {r['rows']} rows, format {r['format']}"
        + (f", as recipe {r['recipe']} (method {r['method']}) reads it" if r.get("recipe") else "")
        + f"; fields {', '.join(r['fields'])}")]
    if r["problems"]:
        more = len(r["problems"]) - 8
        parts.append(Text.from_markup(f"[red]{len(r['problems'])} problem(s)[/]:\n" + "\n".join(
            f"  {escape(p)}" for p in r["problems"][:8]) + (f"\n  … and {more} more" if more > 0 else "")))
    table = Table(title=f"Lengths in {unit}", title_justify="left")
    for col in ("field", "p50", "p95", "max"):
        table.add_column(col, justify="left" if col == "field" else "right")
    for field, q in r["lengths"].items():
        table.add_row(field, str(q["p50"]), str(q["p95"]), str(q["max"]))
    if r["row_length"]:
        q = r["row_length"]
        table.add_row("[bold]row[/] (prompt + longest answer)", str(q["p50"]), str(q["p95"]), str(q["max"]))
    parts.append(table)
    lines = []
    over = r["over_max_length"]
    lines.append(f"{'[yellow]' if over else ''}{over} row(s) over max_length={r['max_length']}"
                 f"{'[/]' if over else ''}")
    dup = r["duplicate_prompts"]
    lines.append(f"duplicate prompts: {dup['exact_rows']} repeated row(s) in {dup['exact_groups']} group(s); "
                 f"{dup['near_pairs']} near-duplicate pair(s) among {dup['compared']} distinct prompts")
    for ex in dup["near_examples"][:3]:
        lines.append(f"  ≈ {escape(ex['a'][:70])!s} | {escape(ex['b'][:70])!s} ({ex['score']})")
    if "similar_answers" in r:
        s = r["similar_answers"]
        lines.append(f"chosen = rejected: {s['identical']} identical, {s['near_identical']} near-identical"
                     + (f" (rows {', '.join(map(str, s['identical_rows'] + s['near_identical_rows']))})"
                        if s["identical"] + s["near_identical"] else ""))
    if r.get("length_bias"):
        lines.append("[bold]length bias[/]: " + _bias_line(r["length_bias"]))
    empty = {k: v for k, v in r["empty_answers"].items() if v}
    lines.append("empty or whitespace answers: " + (", ".join(f"{k} {v}" for k, v in empty.items()) or "none"))
    if r.get("labels"):
        lines.append(f"labels: {r['labels']['desirable']} desirable, {r['labels']['undesirable']} undesirable")
    parts.append(Text.from_markup("\n".join(lines)))
    if r.get("categories"):
        cats = Table(title=f"Per `{r['category_field']}`", title_justify="left")
        cats.add_column("category")
        cats.add_column("rows", justify="right")
        with_bias = any("length_bias" in c for c in r["categories"].values())
        if with_bias:
            cats.add_column("length bias")
        for name, c in r["categories"].items():
            row = [escape(name), str(c["rows"])]
            if with_bias:
                row.append(_bias_line(c["length_bias"]) if c.get("length_bias") else "")
            cats.add_row(*row)
        parts.append(cats)
    return Group(*parts)


def sample_view(result: dict[str, Any], width: int) -> RenderableType:
    """Each sampled row: its prompt, then its answers side by side (stacked below SIDE_BY_SIDE_MIN columns)."""
    parts: list[RenderableType] = [Text(f"{len(result['sample'])} of {result['rows']} rows of {result['source']} "
                                        f"({result['format']}, seed {result['seed']})")]
    for item in result["sample"]:
        answers = [(f, item[f]) for f in ("chosen", "rejected", "completion", "messages", "text") if f in item]
        label = f" · label {item['label']}" if "label" in item else ""
        body: list[RenderableType] = [Text(item["prompt"], style="bold")] if item["prompt"] else []
        if width >= SIDE_BY_SIDE_MIN and len(answers) > 1:
            grid = Table.grid(expand=True, padding=(0, 1))
            for _ in answers:
                grid.add_column(ratio=1)
            grid.add_row(*[Panel(Text(text), title=name, title_align="left") for name, text in answers])
            body.append(grid)
        else:
            body += [Panel(Text(text), title=name, title_align="left") for name, text in answers]
        parts.append(Panel(Group(*body), title=f"row {item['row']}{label}", title_align="left"))
    return Group(*parts)

"""Rich views of `reins data inspect` and `reins data sample`."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from engine.data import inspect_text as text

SIDE_BY_SIDE_MIN = 100  # columns below which a pair's answers are stacked


def inspect_view(r: dict[str, Any]) -> RenderableType:
    """The inspect report: header, problems, lengths table, then one line per check and a table per category."""
    header = Text(text.header_line(r))
    header.stylize("bold", 0, len(r["source"]))
    parts: list[RenderableType] = [header]
    if r["problems"]:
        parts.append(Text.assemble((f"{len(r['problems'])} problem(s)", "red"), ":\n",
                                   "\n".join(f"  {p}" for p in text.problem_lines(r))))
    table = Table(title=text.lengths_title(r), title_justify="left")
    for col in ("field", "p50", "p95", "max"):
        table.add_column(col, justify="left" if col == "field" else "right")
    for row in text.length_rows(r):
        table.add_row(*(Text(cell) for cell in row))
    parts.append(table)
    parts.append(Text("\n").join(Text(line, "yellow" if look else "") for line, look in text.check_lines(r)))
    categories = text.category_rows(r)
    if categories:
        cats = Table(title=f"Per `{r['category_field']}`", title_justify="left")
        cats.add_column("category")
        cats.add_column("rows", justify="right")
        with_bias = any(bias for _, _, bias in categories)
        if with_bias:
            cats.add_column("length bias")
        for name, rows, bias in categories:
            cats.add_row(*(Text(cell) for cell in ((name, rows, bias) if with_bias else (name, rows))))
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

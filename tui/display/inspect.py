"""The Data screen's inspect view of a data file, computed without widgets: one rich Text laid out for a panel of
80 columns, from the same lines and rows the CLI's `reins data inspect` prints (engine.data.inspect_text)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from engine.data import inspect_text as text

LOOK = "yellow"  # a check that needs a look


def inspect_text(r: dict[str, Any]) -> Text:
    """Header, problems, the lengths as aligned columns, the checks, then each category's length bias."""
    out = Text(text.header_line(r))
    out.stylize("bold", 0, len(r["source"]))
    if r["problems"]:
        out.append(f"\n{len(r['problems'])} problem(s):", "red")
        for line in text.problem_lines(r):
            out.append(f"\n  {line}")
    rows = text.length_rows(r)
    width = max(len(row[0]) for row in [("field",), *rows])
    out.append(f"\n\n{text.lengths_title(r)}\n", "bold")
    out.append(f"  {'field':<{width}}  {'p50':>6}  {'p95':>6}  {'max':>6}", "dim")
    for field, p50, p95, most in rows:
        out.append(f"\n  {field:<{width}}  {p50:>6}  {p95:>6}  {most:>6}")
    out.append("\n")
    for line, look in text.check_lines(r):
        out.append("\n" + line, LOOK if look else "")
    categories = text.category_rows(r)
    if categories:
        out.append(f"\n\nPer {r['category_field']}", "bold")
        for name, count, bias in categories:
            out.append(f"\n  {name} ({count} rows)" + (f"\n    {bias}" if bias else ""))
    return out

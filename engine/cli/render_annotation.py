"""Rich rendering of `reins data annotations`: sets with progress, and agreement figures."""

from __future__ import annotations

from rich.table import Table

from engine.annotation.agreement import Comparison
from engine.annotation.overview import SetOverview


def progress_text(s: SetOverview) -> str:
    """`ana 4/10, bo 10/10`, or `not started`."""
    return ", ".join(f"{who} {n}/{s.items}" for who, n in s.done.items()) or "not started"


def sets_table(sets: list[SetOverview]) -> Table:
    table = Table(box=None, header_style="bold")
    for col in ("set", "from", "items", "progress"):
        table.add_column(col)
    for s in sets:
        table.add_row(s.id, f"{s.kind} {s.source}", str(s.items), progress_text(s))
    return table


def agreement_table(found: list[Comparison]) -> Table:
    table = Table(box=None, header_style="bold")
    for col in ("who", "against", "items", "agree", "Cohen's κ"):
        table.add_column(col)
    for c in found:
        kappa = f"{c.kappa:.3f}" if c.kappa is not None else "— (one side gives one label throughout)"
        rate = f"{c.agree} ({c.rate:.0%})" if c.rate is not None else "0"
        table.add_row(c.left, c.right, str(c.n), rate, kappa)
    return table

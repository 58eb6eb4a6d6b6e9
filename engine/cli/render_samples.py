"""Rich rendering of `reins annotate`: a run's samples with the judge's and the person's verdicts."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine.formatting import one_line
from engine.verdict.agreement import Agreement, MarkedSample
from engine.verdict.annotate import SampleMarks


def agreement_line(found: Agreement) -> Text:
    """`agreement 2/3 (67%) · marked 3 of 4 · judged 4`."""
    rate = f" ({found.rate:.0%})" if found.rate is not None else ""
    return Text(f"{found.short}{rate} · marked {found.marked} of {found.samples} · judged {found.judged}",
                style="bold")


def human_cell(row: MarkedSample) -> Text:
    """The person's verdict; red with ≠ where it differs from the judge's."""
    if row.human is None:
        return Text("–", style="dim")
    return Text(f"{row.human} ≠", style="bold red") if row.agrees is False else Text(row.human)


def samples_view(marks: SampleMarks) -> Group:
    """One line per sample: its number, the prompt cut short, the judge's verdict and the person's."""
    if not marks.rows:
        return Group(Text(f"{marks.run}: no sample generations yet", style="dim"))
    table = Table(box=None)
    for name in ("#", "prompt", "judge", "human", "note"):
        table.add_column(name, no_wrap=name != "note", justify="right" if name == "#" else "left")
    for row in marks.rows:
        table.add_row(str(row.index + 1), one_line(row.sample.get("prompt"), 60), row.judge or "–", human_cell(row),
                      row.note or "")
    return Group(Text(marks.run, style="bold"), table, agreement_line(marks.agreement))

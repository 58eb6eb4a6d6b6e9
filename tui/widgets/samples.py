"""Sample generations after training: a table of the newest evaluation's held-out prompts with the judge's verdict and
a person's mark, and for the one picked the reference model's and the trained policy's answers, side by side when
there is room. `p`, `r`, `t` mark which answer is better, `s` withdraws a mark."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from engine.formatting import one_line
from engine.verdict.agreement import Agreement, MarkedSample, agreement, mark_samples, pair_record

WINNER = {"policy": ("policy wins", "bold green"), "reference": ("reference wins", "bold red"),
          "tie": ("tie", "bold yellow")}
SHORT = {"policy": "policy", "reference": "ref", "tie": "tie"}  # a verdict in the table's narrow columns
MARKED = {"policy": "policy better", "reference": "reference better", "tie": "tie"}
SIDE_BY_SIDE_MIN = 70  # below this width (the detail pane at 80 columns) the two answers are stacked
PROMPT_WIDTH = 17  # the prompt column, cut so the table fits its 44 columns


def tally(samples: list[dict[str, Any]]) -> str:
    """`policy 3 · reference 1 · tie 1, win rate 70%` over the judged samples ('' when none was judged)."""
    from engine.verdict.judge import tally as count

    t = count([s.get("winner") for s in samples])
    if not t.n:
        return ""
    return f"policy {t.wins} · reference {t.losses} · tie {t.ties}, win rate {t.win_rate:.0%}"  # a tie counts half


def evaluation_text(evaluation: dict[str, Any] | None, samples: list[dict[str, Any]], found: Agreement) -> Text:
    """The evaluation's figures, the judge's tally over `samples` (the newest evaluation's) and the person's marks."""
    from engine.verdict.report import evaluation_summary

    text = Text()
    if evaluation:
        text.append("after training: ", style="bold")
        text.append(evaluation_summary(evaluation.get("values") or {}))
    if samples:
        judged = tally(samples)
        text.append(("\n" if text else "") + f"{len(samples)} held-out prompt{'s' if len(samples) != 1 else ''}: ",
                    style="bold")
        text.append(judged or "not judged (set report.judge, or `reins report RUN --judge-url …`)",
                    style="" if judged else "dim")
    if found.marked:
        rate = f" ({found.rate:.0%})" if found.rate is not None else ""
        text.append(f"\nyou marked {found.marked} of {found.samples} · {found.short} with the judge{rate}",
                    style="bold")
        if found.disagreements:
            text.append(f" · {len(found.disagreements)} disagreement{'s' if len(found.disagreements) != 1 else ''}",
                        style="bold magenta")
    return text


def verdict_cell(winner: str | None) -> Text:
    return Text(SHORT[winner]) if winner in SHORT else Text("–", style="dim")


def human_cell(row: MarkedSample) -> Text:
    """The person's mark; a mark that differs from the judge's verdict stands out."""
    if row.human is None:
        return Text("–", style="dim")
    if row.agrees is False:
        return Text(f"{SHORT[row.human]} ≠", style="bold magenta reverse")
    return Text(SHORT[row.human], style="green" if row.agrees else "")


class SampleDetail(Widget):
    """One sample; it re-lays itself out for its own width (side by side or stacked)."""

    DEFAULT_CSS = "SampleDetail { height: auto; padding: 0 1; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.row: MarkedSample | None = None

    def show(self, row: MarkedSample | None) -> None:
        self.row = row
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        if self.row is None:
            return Text("")
        s, human = self.row.sample, self.row.human
        head = Text.assemble((f"prompt {self.row.index + 1}", "bold"), f" · step {s.get('step', '?')}")
        label, style = WINNER.get(str(s.get("winner")), ("not judged", "dim"))
        head.append("  judge: ")
        head.append(label, style=style)
        if human is not None:
            head.append("  you: ")
            head.append(MARKED[human] + (" ≠ judge" if self.row.agrees is False else ""),
                        style="bold magenta" if self.row.agrees is False else "bold")
        prompt = Text(str(s.get("prompt", "")).strip())
        answers = [(f"reference model{' ✓' if s.get('winner') == 'reference' else ''}", s.get("reference")),
                   (f"trained policy{' ✓' if s.get('winner') == 'policy' else ''}", s.get("policy"))]
        blocks = [Group(Text(title, style="bold underline"), Text(str(body or "").strip() or "(empty)"))
                  for title, body in answers]
        if self.size.width >= SIDE_BY_SIDE_MIN:
            grid = Table.grid(padding=(0, 2), expand=True)
            grid.add_column(ratio=1)
            grid.add_column(ratio=1)
            grid.add_row(*blocks)
            body: RenderableType = grid
        else:
            body = Group(blocks[0], Text(""), blocks[1])
        return Group(head, Text("prompt", style="bold underline"), prompt, Text(""), body)


class SamplesPane(Vertical):
    """The Samples tab: the evaluation figures, a table of every sample of the newest evaluation, the picked sample,
    and keys that mark which answer is better (posted as `Marked`; the screen records it)."""

    DEFAULT_CSS = """
    SamplesPane { height: 1fr; }
    SamplesPane #samples-eval { height: auto; padding: 0 1; }
    SamplesPane Horizontal { height: 1fr; }
    SamplesPane #sample-table { width: 44; height: 1fr; }
    SamplesPane #sample-scroll { width: 1fr; height: 1fr; }
    """
    BINDINGS = [
        Binding("p", "mark('policy')", "Policy better"),
        Binding("r", "mark('reference')", "Ref. better"),
        Binding("t", "mark('tie')", "Tie"),
        Binding("s", "mark('skip')", "Unmark", show=False),
    ]

    class Marked(Message):
        """A person marked sample `index` (its `index` field): `winner` is policy, reference, tie or skip."""

        def __init__(self, index: int, winner: str) -> None:
            super().__init__()
            self.index, self.winner = index, winner

    def __init__(self, run_id: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.samples: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []  # the journal as last read, plus marks not yet written back
        self.rows: list[MarkedSample] = []
        self.evaluation: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="samples-eval")
        with Horizontal():
            yield DataTable(id="sample-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="sample-scroll", can_focus=False):
                yield SampleDetail(id="sample-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Fixed widths: a mark made later ("policy ≠") must fit without the columns moving.
        for label, key, width in (("#", "n", 2), ("prompt", "prompt", PROMPT_WIDTH), ("judge", "judge", 6),
                                  ("you", "you", 8)):
            table.add_column(label, key=key, width=width)

    @property
    def agreement(self) -> Agreement:
        return agreement(self.rows)

    def show(self, samples: list[dict[str, Any]], evaluation: dict[str, Any] | None) -> None:
        """Show the newest evaluation's samples (unchanged ones keep the highlighted row)."""
        self.evaluation = evaluation
        if samples != self.samples:
            self.samples = samples
            self._rebuild()
        self._figures()

    def set_records(self, records: list[dict[str, Any]]) -> None:
        """The journal as read from disk: the marks shown follow it."""
        self.records = list(records)
        self._remark()

    def _rebuild(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self.rows = mark_samples(self.samples, self.records)
        for r in self.rows:
            table.add_row(str(r.index + 1), one_line(r.sample.get("prompt"), PROMPT_WIDTH), verdict_cell(r.judge),
                          human_cell(r), key=str(r.index))
        table.display = bool(self.rows)
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1))
        self._detail()

    def _remark(self) -> None:
        table = self.query_one(DataTable)
        self.rows = mark_samples(self.samples, self.records)
        for r in self.rows:
            table.update_cell(str(r.index), "you", human_cell(r))
        self._detail()
        self._figures()

    def _figures(self) -> None:
        self.query_one("#samples-eval", Static).update(evaluation_text(self.evaluation, self.samples,
                                                                       self.agreement))

    def _detail(self) -> None:
        row = self.query_one(DataTable).cursor_row
        self.query_one(SampleDetail).show(self.rows[row] if 0 <= row < len(self.rows) else None)

    @on(DataTable.RowHighlighted, "#sample-table")
    def _picked(self, _event: DataTable.RowHighlighted) -> None:
        self._detail()
        self.query_one("#sample-scroll", VerticalScroll).scroll_home(animate=False)

    def action_mark(self, winner: str) -> None:
        row = self.query_one(DataTable).cursor_row
        if not 0 <= row < len(self.rows):
            return
        sample = self.rows[row].sample
        # Shown at once; the screen writes it, then the journal as read back replaces this guess.
        self.records.append(pair_record(self.run_id, sample, winner, ""))
        self._remark()
        self.post_message(self.Marked(self.rows[row].index, winner))

"""Sample generations after training: a list of held-out prompts, and for the one picked the reference model's and
the trained policy's answers, side by side when there is room, with the judge's verdict when there is one."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

WINNER = {"policy": ("policy wins", "bold green"), "reference": ("reference wins", "bold red"),
          "tie": ("tie", "bold yellow")}
SIDE_BY_SIDE_MIN = 70  # below this width (the detail pane at 80 columns) the two answers are stacked


def ordered(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest evaluation first (a resumed run may have generated twice), then prompt order; a sample judged again
    later (`reins report --judge-url`) replaces its earlier copy."""
    latest = {(s.get("step"), s.get("index")): s for s in samples}
    return sorted(latest.values(), key=lambda s: (-(s.get("step") or 0), s.get("index") or 0))


def tally(samples: list[dict[str, Any]]) -> str:
    """`policy 3 · reference 1 · tie 1, win rate 70%` over the judged samples ('' when none was judged)."""
    from engine.verdict.judge import tally as count

    t = count([s.get("winner") for s in samples])
    if not t.n:
        return ""
    return f"policy {t.wins} · reference {t.losses} · tie {t.ties}, win rate {t.win_rate:.0%}"  # a tie counts half


def evaluation_text(evaluation: dict[str, Any] | None, samples: list[dict[str, Any]]) -> Text:
    from engine.verdict.report import evaluation_summary

    text = Text()
    if evaluation:
        text.append("after training: ", style="bold")
        text.append(evaluation_summary(evaluation.get("values") or {}))
    newest = [s for s in ordered(samples) if s.get("step") == max(x.get("step") or 0 for x in samples)] \
        if samples else []
    judged = tally(newest)
    if newest:
        text.append(("\n" if text else "") + f"{len(newest)} held-out prompt{'s' if len(newest) != 1 else ''}: ",
                    style="bold")
        text.append(judged or "not judged (set report.judge, or `reins report RUN --judge-url …`)",
                    style="" if judged else "dim")
    return text


class SampleDetail(Widget):
    """One sample; it re-lays itself out for its own width (side by side or stacked)."""

    DEFAULT_CSS = "SampleDetail { height: auto; padding: 0 1; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sample: dict[str, Any] | None = None

    def show(self, sample: dict[str, Any] | None) -> None:
        self.sample = sample
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        s = self.sample
        if s is None:
            return Text("")
        head = Text.assemble((f"prompt {int(s.get('index') or 0) + 1}", "bold"), f" · step {s.get('step', '?')}")
        label, style = WINNER.get(str(s.get("winner")), ("not judged", "dim"))
        head.append("  ")
        head.append(label, style=style)
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
    """The Samples tab: the evaluation figures, a keyboard-driven list of prompts and the picked sample."""

    DEFAULT_CSS = """
    SamplesPane { height: 1fr; }
    SamplesPane #samples-eval { height: auto; padding: 0 1; }
    SamplesPane Horizontal { height: 1fr; }
    SamplesPane #sample-list { width: 22; height: 1fr; }
    SamplesPane #sample-scroll { width: 1fr; height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="samples-eval")
        with Horizontal():
            yield OptionList(id="sample-list")
            with VerticalScroll(id="sample-scroll", can_focus=False):
                yield SampleDetail(id="sample-detail")

    def show(self, samples: list[dict[str, Any]], evaluation: dict[str, Any] | None) -> None:
        """Show these samples (unchanged ones keep the highlighted entry)."""
        self.query_one("#samples-eval", Static).update(evaluation_text(evaluation, samples))
        rows = ordered(samples)
        if rows == self.samples:
            return
        self.samples = rows
        options = self.query_one("#sample-list", OptionList)
        options.clear_options()
        options.add_options([Option(_entry(s)) for s in rows])
        options.display = bool(rows)
        if rows:
            options.highlighted = 0
        self.query_one(SampleDetail).show(rows[0] if rows else None)

    @on(OptionList.OptionHighlighted, "#sample-list")
    def _picked(self, event: OptionList.OptionHighlighted) -> None:
        if 0 <= event.option_index < len(self.samples):
            self.query_one(SampleDetail).show(self.samples[event.option_index])
            self.query_one("#sample-scroll", VerticalScroll).scroll_home(animate=False)


def _entry(sample: dict[str, Any]) -> Text:
    text = Text(f"#{int(sample.get('index') or 0) + 1} ")
    label, style = WINNER.get(str(sample.get("winner")), ("", ""))
    text.append(label or "·", style=style or "dim")
    return text

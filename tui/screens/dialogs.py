"""Modal dialogs: a yes/no confirmation, a text to write, a line to type (a path), and the `?` key help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea

HELP = """\
[b]Everywhere[/b]
  1 2 3 4      Recipes / Runs / Sweeps / Data
  ctrl+p       command palette: every action by name
  ?            this help
  q            quit the TUI only: [b]runs keep training[/b];
               reopen `reins` to reattach to them
  esc          back

[b]Recipes[/b]
  ↑ ↓  enter   pick a recipe and open its form

[b]Configure[/b]
  tab          next field (each field's help is under it)
  ctrl+l       launch (the same call as `reins run … --set …`)
  ctrl+r       reset the form to the recipe
  The VRAM panel re-estimates as you edit. A numeric field
  given a comma list (β 0.05,0.1,0.5) makes a sweep: the line
  above Launch says how many runs and the memory each needs;
  ctrl+l then queues them all.

[b]Runs[/b]
  ↑ ↓  enter   open a run
  space        select / unselect for comparing
  c            compare the selected runs
  /            filter by id, name, status, method, settings
  s            sort by the next column
  x            stop the run under the cursor
  u            resume it from its newest checkpoint
  +            move a queued run one place up the queue
  d            take a queued run out of the queue
  r            refresh now
  A queued run shows its place (queued #2); a live run the GPUs
  it holds.

[b]Run[/b]
  g / a / l    charts / alerts / log
  p            samples after training (↑ ↓ pick a prompt)
  m            latest metrics
  e            x axis: step → epoch → tokens seen
  x            stop the run (it saves a checkpoint and ends `stopped`)
  u            resume it from its newest checkpoint (same run)

[b]Compare[/b]
  e            x axis: step → epoch → tokens seen

[b]Sweeps[/b]
  ↑ ↓          pick a sweep: its members below, best first
  enter        to its members; enter on a member opens its run
  c            compare every member of the sweep
  x            stop the sweep (queued members leave the queue)
  esc          back to the sweep list

[b]Data[/b]
  ↑ ↓  enter   annotate the set under the cursor
  i            inspect a data file: lengths, duplicates, length bias

[b]Annotate[/b]
  a / b        A is better / B is better (one answer: good / bad)
  t / s        tie / skip
  u            undo your last decision
  e            write a better answer: it becomes the chosen one
  n            a note on this item
  ← →          previous / next item
  Every key is saved at once; reopening resumes where you left.
"""


class HelpScreen(ModalScreen[None]):
    """The keys of every screen."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Static("[b]Reins — keys[/b]", classes="dialog-title")
            with VerticalScroll():
                yield Static(HELP, id="help-text")
            yield Static("esc closes", classes="dim")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A question with a yes and a no; `y`/enter says yes, `n`/esc says no."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, title: str, message: str, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self.title_text, self.message, self.yes, self.no = title, message, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-box"):
            yield Static(f"[b]{self.title_text}[/b]", classes="dialog-title")
            yield Static(self.message, id="confirm-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="primary", id="yes")
                yield Button(self.no, id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextScreen(ModalScreen[str | None]):
    """A text to write (a better answer, a note): ctrl+s keeps it, esc drops it."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [Binding("ctrl+s", "keep", "Keep"), Binding("escape", "drop", "Cancel")]

    def __init__(self, title: str, text: str = "") -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="text-box"):
            yield Static(f"[b]{self.title_text}[/b]", classes="dialog-title")
            yield TextArea(self.text, id="text-area", soft_wrap=True)
            yield Static("ctrl+s keeps it · esc cancels", classes="dim")

    def action_keep(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_drop(self) -> None:
        self.dismiss(None)


class LineScreen(ModalScreen[str | None]):
    """One line to type (a file's path): enter keeps it, esc drops it."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [Binding("escape", "drop", "Cancel")]

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self.title_text, self.value = title, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="line-box"):
            yield Static(f"[b]{self.title_text}[/b]", classes="dialog-title")
            yield Input(self.value, id="line-input")
            yield Static("enter keeps it · esc cancels", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_drop(self) -> None:
        self.dismiss(None)

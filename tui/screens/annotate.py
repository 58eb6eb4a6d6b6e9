"""Annotate: one item at a time — the prompt and two answers side by side (stacked below 100 columns); a/b/t/s
decide, u undoes, e writes a better answer, n keeps a note. Every key is in the journal before the next item shows."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static

from tui.display.annotate import SIDE_BY_SIDE_MIN, answer_titles, decision_text, keys_line, progress_line


class AnnotateScreen(Screen[None]):
    """One annotator working through one set, resuming at the first item they have not handled."""

    CSS_PATH = "annotate.tcss"

    BINDINGS = [
        Binding("a", "choose('a')", "A better"),
        Binding("b", "choose('b')", "B better"),
        Binding("t", "choose('tie')", "Tie"),
        Binding("s", "choose('skip')", "Skip"),
        Binding("u", "undo", "Undo"),
        Binding("e", "edit", "Better answer"),
        Binding("n", "note", "Note"),
        Binding("left", "move(-1)", "Previous", show=False),
        Binding("right", "move(1)", "Next", show=False),
        Binding("escape", "back", "Sets", show=False),
    ]
    PALETTE = [
        ("Annotate: undo my last decision", "undo", "appends an undo record; the journal is never rewritten"),
        ("Annotate: write a better answer", "edit", "it becomes the chosen answer of the exported pair"),
        ("Annotate: note on this item", "note", "kept with the decision"),
    ]

    def __init__(self, set_id: str, annotator: str) -> None:
        super().__init__()
        self.set_id, self.annotator = set_id, annotator
        self.session: Any = None
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="annotate-line")
        yield ProgressBar(id="annotate-bar", show_eta=False)
        with VerticalScroll(id="annotate-body"):
            yield Static(id="annotate-prompt", classes="panel")
            with Container(id="answers"):
                yield Static(id="answer-a", classes="panel answer")
                yield Static(id="answer-b", classes="panel answer")
        yield Static(id="annotate-decision", classes="statusline")
        yield Static(id="annotate-keys", classes="statusline")
        yield Footer()

    def on_mount(self) -> None:
        from engine import api

        self.sub_title = f"Annotate {self.set_id} · {self.annotator}"
        try:
            self.session = api.annotation_session(self.set_id, self.annotator, self.app.settings.runs_dir)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - a missing or broken set is said on screen, not raised
            self.query_one("#annotate-line", Static).update(Text(f"cannot open {self.set_id}: {exc}"))
            return
        self.index = self.session.resume_at()
        self.show()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < SIDE_BY_SIDE_MIN, "narrow")

    def show(self) -> None:
        """Draw the item at `index` and the progress."""
        session = self.session
        if session is None or not session.views:
            return
        view = session.views[self.index]
        total, done = len(session.views), session.done
        line = progress_line(view.position, total, done)
        if done == total:
            line += f" · all handled: `reins data annotations export {self.set_id} OUT` writes the pairs"
        self.query_one("#annotate-line", Static).update(Text(line, style="bold"))
        self.query_one("#annotate-bar", ProgressBar).update(total=total, progress=done)
        prompt = self.query_one("#annotate-prompt", Static)
        prompt.border_title = "Prompt"
        prompt.update(Text(view.item.prompt_text))
        titles = answer_titles(view.item.pairwise)
        for widget_id, answer, title in zip(("#answer-a", "#answer-b"), view.shown + [None], titles + ("",),
                                            strict=False):
            widget = self.query_one(widget_id, Static)
            widget.display = answer is not None
            if answer is not None:
                widget.border_title = title
                widget.update(Text(answer["text"]))
        self.query_one("#annotate-decision", Static).update(Text(decision_text(view)))
        self.query_one("#annotate-keys", Static).update(keys_line(view.item.pairwise))
        self.query_one("#annotate-body", VerticalScroll).scroll_home(animate=False)

    def _do(self, action: Any) -> Any:
        # Written synchronously, on purpose: the decision is fsynced to the journal before the next item shows, so
        # a killed TUI loses no key the person saw take effect, and records keep the order of the keys.
        from engine.errors import ReinsError

        try:
            return action()
        except ReinsError as exc:
            self.notify(str(exc), severity="warning")
            return None

    def action_choose(self, choice: str) -> None:
        if self.session is None or self._do(lambda: self.session.choose(self.index, choice)) is None:
            return
        following = self.session.next_open(self.index)
        self.index = following if following is not None else self.index
        self.show()

    def action_undo(self) -> None:
        if self.session is None:
            return
        index = self._do(self.session.undo)
        if index is not None:
            self.index = index
            self.show()

    def action_move(self, step: int) -> None:
        if self.session is not None and self.session.views:
            self.index = (self.index + step) % len(self.session.views)
            self.show()

    def _write(self, title: str, start: str, save: Any) -> None:
        from tui.screens.dialogs import TextScreen

        def done(text: str | None) -> None:
            if text is not None and self._do(lambda: save(self.index, text)) is not None:
                self.show()

        self.app.push_screen(TextScreen(title, start), done)

    def action_edit(self) -> None:
        if self.session is None:
            return
        view = self.session.views[self.index]
        preferred = {a["who"]: a["text"] for a in view.item.answers}.get(view.preferred or "")
        start = view.edit or preferred or view.shown[0]["text"]
        self._write("A better answer (it becomes the chosen one)", start, self.session.edit)

    def action_note(self) -> None:
        if self.session is not None:
            self._write("A note on this item", self.session.views[self.index].note or "", self.session.note)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.switch_mode("data")  # type: ignore[attr-defined]

"""Data: the store's annotation sets with each annotator's progress; enter annotates the set under the cursor."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tui.display.annotate import set_row

COLUMNS = ("set", "from", "items", "progress")


class DataScreen(Screen[None]):
    """Annotation sets, newest first."""

    CSS_PATH = "data.tcss"

    AUTO_FOCUS = "#sets-table"
    BINDINGS = [Binding("r", "refresh", "Refresh")]
    PALETTE = [("Data: refresh the annotation sets", "refresh", "re-read the sets and everyone's progress")]

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="sets-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="data-status", classes="statusline")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Data"
        table = self.query_one("#sets-table", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        self.load()

    def on_screen_resume(self) -> None:
        self.load()  # back from annotating: the progress moved

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="data-load")
    def load(self) -> None:
        from engine import api

        app: Any = self.app
        try:
            sets = api.list_annotation_sets(app.settings.runs_dir)
        except Exception as exc:  # noqa: BLE001 - a broken set is shown, the screen stays up
            app.call_from_thread(self.query_one("#data-status", Static).update, Text(f"Cannot read the sets: {exc}"))
            return
        app.call_from_thread(self.show, sets)

    def show(self, sets: list[Any]) -> None:
        annotator = self.app.annotator()  # type: ignore[attr-defined]
        table = self.query_one("#sets-table", DataTable)
        row = table.cursor_row
        table.clear()
        for s in sets:
            table.add_row(*(Text(cell) for cell in set_row(s, annotator)), key=s.id)
        self.ids = [s.id for s in sets]
        if sets:
            table.move_cursor(row=min(row, len(sets) - 1))
        status = (f"{len(sets)} annotation set{'s' if len(sets) != 1 else ''} · enter annotates as {annotator}"
                  if sets else "No annotation sets yet: `reins data annotate FILE` (pairs, or prompts with 2+ "
                  "answers) or `reins data from-run RUN` makes one.")
        self.query_one("#data-status", Static).update(Text(status))

    @on(DataTable.RowSelected, "#sets-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.open_annotate(event.row_key.value)  # type: ignore[attr-defined]

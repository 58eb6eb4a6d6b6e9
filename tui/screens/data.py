"""Data: the store's annotation sets with each annotator's progress; enter annotates the set under the cursor, `i`
inspects a data file (the same report as `reins data inspect`) on a screen pushed on top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from engine.paths import BUNDLED_RECIPES
from tui.display.annotate import set_row
from tui.display.inspect import inspect_text

COLUMNS = ("set", "from", "items", "progress")
DEFAULT_DATA = BUNDLED_RECIPES / "data" / "prefs.train.jsonl"
INSPECT_RECIPE = "dpo"  # its tokenizer, max_length and pair fields are what a bundled preference file is read with


class DataScreen(Screen[None]):
    """Annotation sets, newest first."""

    CSS_PATH = "data.tcss"

    AUTO_FOCUS = "#sets-table"
    BINDINGS = [Binding("r", "refresh", "Refresh"), Binding("i", "inspect", "Inspect")]
    PALETTE = [("Data: refresh the annotation sets", "refresh", "re-read the sets and everyone's progress"),
               ("Data: inspect a data file", "inspect", "lengths, duplicates, near-identical pairs, length bias")]

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.asking = False  # the path dialog is up: coming back from it is no reason to re-read the sets

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
        if self.asking:  # re-reading now would overwrite the inspect's message on the status line
            self.asking = False
            return
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

    def action_inspect(self) -> None:
        from tui.screens.dialogs import LineScreen

        def done(path: str | None) -> None:
            if path and path.strip():
                self.query_one("#data-status", Static).update(Text(f"Inspecting {path.strip()} …"))
                self.inspect(path.strip())

        self.asking = True
        self.app.push_screen(LineScreen("Inspect a data file (read as recipe dpo)", str(DEFAULT_DATA)), done)

    @work(thread=True, exclusive=True, group="data-inspect")
    def inspect(self, path: str) -> None:
        from engine import api

        app: Any = self.app
        file = Path(path).expanduser()
        if not file.is_file():
            # Folders and hub dataset names are read through `datasets`, a training library the TUI never loads.
            why = "is a folder" if file.is_dir() else "is not a file here"
            app.call_from_thread(self.query_one("#data-status", Static).update,
                                 Text(f"Cannot inspect: {path} {why}; the TUI reads .jsonl/.json/.parquet files "
                                      "(`reins data inspect` also folders and cached hub datasets)."))
            return
        try:
            report = api.inspect_data(path, recipe=INSPECT_RECIPE, runs_dir=app.settings.runs_dir)
        except Exception as exc:  # noqa: BLE001 - a missing or unreadable file is a message, the screen stays up
            app.call_from_thread(self.query_one("#data-status", Static).update, Text(f"Cannot inspect: {exc}"))
            return
        app.call_from_thread(self.show_inspected, report)

    def show_inspected(self, report: dict[str, Any]) -> None:
        self.query_one("#data-status", Static).update(Text(f"Inspected {report['source']}"))
        self.app.push_screen(InspectScreen(report))

    @on(DataTable.RowSelected, "#sets-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.open_annotate(event.row_key.value)  # type: ignore[attr-defined]


class InspectScreen(Screen[None]):
    """One data file's inspect report; esc goes back to the Data screen."""

    CSS_PATH = "data.tcss"

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="inspect-body"):
            yield Static(inspect_text(self.report), id="inspect-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Data · inspect {self.report['source']}"

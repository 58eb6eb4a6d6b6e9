"""Runs: every run in the store in one table — sort, filter with `/`, select several with space to compare; queued
runs show their place in the queue, which `+` and `d` change."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from engine.recipe.methods import method_spec
from tui.actions import confirm_cancel_queued, confirm_resume, confirm_stop, move_up
from tui.display.rows import RunRow, queue_positions, run_row
from tui.styles import LIVE, STATUS_STYLE, VERDICT_STYLE
from tui.widgets.runtable import RunTable

# Rows added per UI tick: each batch costs ~40 µs a row plus one repaint (~70 ms), so 1,000 runs go in one batch.
FILL_CHUNK = 1000
# A store bigger than this opens in two steps: its newest runs (more than a screenful), then all of them.
FIRST_SCREEN = 100
# (column label, RunRow attribute or callable) in table order; `sort` cycles through SORTS.
SORTS: list[tuple[str, Any]] = [
    ("newest", lambda r: r.created), ("status", lambda r: r.status), ("name", lambda r: r.name),
    ("step", lambda r: r.sort_step), ("alerts", lambda r: r.alerts), ("verdict", lambda r: r.rank),
]


class RunsScreen(Screen[None]):
    """The run store as a table, refreshed in the background while runs are live."""

    CSS_PATH = "runs.tcss"

    # Focused as it is composed: a later focus change restyles the table and so repaints every visible cell.
    AUTO_FOCUS = "#runs-table"
    BINDINGS = [
        Binding("enter", "open", "Open", show=False),
        Binding("space", "toggle_select", "Select"),
        Binding("c", "compare", "Compare"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "sort", "Sort"),
        Binding("x", "stop", "Stop run"),
        Binding("u", "resume", "Resume", show=False),
        Binding("plus", "queue_up", "Queue up", key_display="+"),
        Binding("d", "dequeue", "Dequeue"),
        Binding("r", "refresh", "Refresh"),
        Binding("n", "app.switch_mode('recipes')", "New run"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    PALETTE = [
        ("Open the run under the cursor", "open", "live progress, charts, alerts, log"),
        ("Select / unselect the run under the cursor", "toggle_select", "for Compare"),
        ("Compare the selected runs", "compare", "config diff, overlaid charts, final metrics"),
        ("Filter runs", "filter", "by id, name, status, method, model or key settings"),
        ("Sort runs by the next column", "sort", "newest, status, name, step, alerts, verdict"),
        ("Stop the run under the cursor", "stop", "it saves a checkpoint and ends `stopped`"),
        ("Resume the run under the cursor", "resume", "a stopped, failed or crashed run continues from its newest "
         "checkpoint"),
        ("Move the queued run under the cursor up", "queue_up", "one place up the queue: it starts sooner"),
        ("Take the queued run under the cursor out of the queue", "dequeue", "it ends `stopped` without starting"),
        ("Refresh the runs table", "refresh", "re-read the run store"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[RunRow] = []
        self.selected: set[str] = set()
        self.sort_index = 0
        self.filter_text = ""
        self.loaded = False
        self.reattached = False
        self.shown_ids: list[str] = []
        self.shown: dict[str, RunRow] = {}
        self._fill_gen = 0
        self._filling = False
        self._ticks = 0
        self._suspended = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: id, name, status, method, model, settings (esc clears)", id="runs-filter")
        yield RunTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="runs-status", classes="statusline")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Runs"
        filt = self.query_one("#runs-filter", Input)
        filt.display = False
        table = self.query_one(DataTable)
        table.add_column("", key="sel", width=1)
        # Fixed widths: columns don't jump about while 1,000 rows stream in.
        # status: `queued #12` fits; GPU, beside it: the ids a live run holds (`0-3`).
        for label, key, width in (("started", "created", 9), ("name", "name", 18), ("status", "status", 10),
                                  ("GPU", "gpus", 5), ("method", "method", 6), ("key settings", "settings", 24),
                                  ("step", "step", 7), ("margin", "h0", 7), ("acc", "h1", 6), ("⚠", "alerts", 2),
                                  ("verdict", "verdict", 10), ("model", "model", 21), ("GiB est/peak", "memory", 12),
                                  ("time", "duration", 8), ("id", "id", 44)):
            table.add_column(label, key=key, width=width)
        self.query_one("#runs-status", Static).update("loading runs…")
        app: Any = self.app
        if app.rows_cache is not None:
            # What the store held a moment ago, at once; the re-read waits until the first rows are painted.
            self.show_rows(app.rows_cache)
            self.set_timer(1.0, self.load)
        else:
            self.load()
        self.set_interval(app.settings.refresh_s, self._tick)

    def _tick(self) -> None:
        # Live and queued runs change every few seconds; a quiet store is re-read five times less often.
        self._ticks += 1
        if any(r.status in LIVE or r.position for r in self.rows) or self._ticks % 5 == 0:
            self.load()

    def on_screen_suspend(self) -> None:
        self._suspended = True

    def on_screen_resume(self) -> None:
        # Coming back from a Run or Compare screen: re-read (not on the first show, which on_mount covers).
        if self._suspended:
            self._suspended = False
            self.load()

    @work(thread=True, exclusive=True, group="runs-load")
    def load(self) -> None:
        from engine import api

        app: Any = self.app
        views = api.list_runs(app.settings.runs_dir)
        now = app.now()
        places = queue_positions(views)
        if not self.loaded and len(views) > FIRST_SCREEN:
            # First open of a big store: the newest screenful is painted while the rest of the rows are built.
            first = [run_row(v, now, places.get(v.id)) for v in views[:FIRST_SCREEN]]
            self.app.call_from_thread(self.show_rows, first, True)
        rows = [run_row(v, now, places.get(v.id)) for v in views]
        self.app.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[RunRow], partial: bool = False) -> None:
        if partial:
            if not self.loaded:  # (the whole list may have come first)
                self.rows = rows
                self.render_table()
                self.query_one("#runs-status", Static).update(f"loading runs… (the newest {len(rows)} shown)")
            return
        self.app.rows_cache = rows  # type: ignore[attr-defined]
        first = not self.loaded
        self.rows, self.loaded = rows, True
        self.render_table()
        if first:
            self.query_one(DataTable).focus()
            self._reattach()

    def _reattach(self) -> None:
        # Reopening the app puts you back on the newest live run, with its whole history.
        app: Any = self.app
        live = [r for r in self.rows if r.status in LIVE]
        if live and app.start is None and not self.reattached and app.screen is self:
            self.reattached = True
            app.notify(f"Reattached to {live[0].id}" + (f" (+{len(live) - 1} more live)" if len(live) > 1 else ""))
            app.open_run(live[0].id)

    def visible_rows(self) -> list[RunRow]:
        needle = self.filter_text.lower().strip()
        rows = [r for r in self.rows if not needle or all(w in r.search for w in needle.split())]
        label, key = SORTS[self.sort_index]
        return sorted(rows, key=key, reverse=label in ("newest", "step", "alerts"))

    def cells(self, r: RunRow) -> list[Text]:
        # Text cells, not str: the table would parse every str cell as markup (measurable with 1,000 runs).
        return [
            Text("✓" if r.id in self.selected else ""),
            Text(r.id[4:8] + " " + r.id[9:13] if len(r.id) > 13 else r.id), Text(r.name),
            Text(r.status_text, style=STATUS_STYLE.get(r.status, "")), Text(r.gpus), Text(r.method), Text(r.settings),
            Text(r.step),
            *(Text(h) for h in r.headline), Text(str(r.alerts), style="bold yellow") if r.alerts else Text(""),
            Text(r.verdict, style=VERDICT_STYLE.get(r.verdict.split(" ")[0], "")),
            Text(r.model), Text(r.memory), Text(r.duration), Text(r.id),
        ]

    def render_table(self) -> None:
        """Show `visible_rows()`: cells of changed runs are updated in place; a new order rebuilds the table in
        batches of FILL_CHUNK rows, one per paint, so the UI answers while a very large store fills in."""
        table = self.query_one(DataTable)
        # One method in view: its own headline columns; several: neutral headings over each row's own figures.
        spec = method_spec(next(iter(methods))) if len(methods := {r.method for r in self.rows}) == 1 else None
        heads = spec.headline if spec else ("margin", "acc")
        for key, head in (("h0", heads[0]), ("h1", heads[1])):
            if str(table.columns[key].label) != _short(head):
                table.columns[key].label = Text(_short(head))
        rows = self.visible_rows()
        ids = [r.id for r in rows]
        painted = len(self.shown_ids)
        if ids == self.shown_ids:
            self._update_changed(rows)
            self.shown = {r.id: r for r in rows}
        elif painted and not self._filling and ids[:painted] == self.shown_ids:
            # The same order with more rows after it (the rest of a first screenful): append, keep what is painted.
            self._update_changed(rows[:painted])
            self.shown_ids, self.shown = ids, {r.id: r for r in rows}
            self._fill_gen += 1
            self._fill(rows, painted, self._fill_gen, None)
        else:
            current = self.current_id()
            table.clear()
            self.shown_ids, self.shown = ids, {r.id: r for r in rows}
            self._fill_gen += 1
            self._fill(rows, 0, self._fill_gen, current)
        self._status_line(len(rows))

    def _update_changed(self, rows: list[RunRow]) -> None:
        table = self.query_one(DataTable)
        keys = list(table.columns)
        for r in rows:
            # Rows not added yet (the table is still filling) pick the new values up from `shown`.
            if self.shown.get(r.id) != r and r.id in table.rows:
                for key, cell in zip(keys, self.cells(r), strict=True):
                    table.update_cell(r.id, key, cell)

    def _fill(self, rows: list[RunRow], start: int, gen: int, current: str | None) -> None:
        if gen != self._fill_gen:
            return  # a newer rebuild took over
        table = self.query_one(RunTable)
        chunk = FILL_CHUNK
        table.add_batch((self.cells(self.shown.get(r.id, r)), r.id) for r in rows[start:start + chunk])
        end = start + chunk
        self._filling = end < len(rows)
        if current and any(r.id == current for r in rows[start:end]):
            table.move_cursor(row=table.get_row_index(current))
        if self._filling:
            self.call_after_refresh(self._fill, rows, end, gen, current)

    def _status_line(self, shown: int) -> None:
        live = sum(r.status in LIVE for r in self.rows)
        queued = sum(r.position is not None for r in self.rows)
        parts = [f"{shown} of {len(self.rows)} runs" if self.filter_text else f"{len(self.rows)} runs",
                 f"{live} live", *([f"{queued} queued (+ moves up, d dequeues)"] if queued else []),
                 f"sorted by {SORTS[self.sort_index][0]}"]
        if self.selected:
            parts.append(f"{len(self.selected)} selected (c compares)")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text!r}")
        if not self.rows:
            parts = ["No runs yet: press n (or 1) to pick a recipe and launch one."]
        self.query_one("#runs-status", Static).update(" · ".join(parts))

    def current_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - an empty or shrinking table has no cursor row
            return None

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.open_run(str(event.row_key.value))  # type: ignore[attr-defined]

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        labels = [label for label, _ in SORTS]
        key = {"created": "newest"}.get(str(event.column_key.value), str(event.column_key.value))
        if key in labels:
            self.sort_index = labels.index(key)
            self.render_table()

    def action_open(self) -> None:
        run_id = self.current_id()
        if run_id:
            self.app.open_run(run_id)  # type: ignore[attr-defined]

    def action_toggle_select(self) -> None:
        run_id = self.current_id()
        if not run_id:
            return
        self.selected.symmetric_difference_update({run_id})
        table = self.query_one(DataTable)
        table.update_cell(run_id, "sel", Text("✓" if run_id in self.selected else ""))
        row = table.cursor_row
        if row < table.row_count - 1:
            table.move_cursor(row=row + 1)
        self._status_line(len(self.shown_ids))

    def action_compare(self) -> None:
        ids = [r.id for r in self.visible_rows() if r.id in self.selected] or sorted(self.selected)
        self.app.open_compare(ids)  # type: ignore[attr-defined]

    def action_filter(self) -> None:
        filt = self.query_one("#runs-filter", Input)
        filt.display = True
        filt.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.render_table()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self, _event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def action_clear_filter(self) -> None:
        filt = self.query_one("#runs-filter", Input)
        filt.value = ""
        filt.display = False
        self.filter_text = ""
        self.render_table()
        self.query_one(DataTable).focus()

    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.render_table()

    def action_refresh(self) -> None:
        self.load()

    def action_resume(self) -> None:
        run_id = self.current_id()
        if run_id:
            confirm_resume(self.app, run_id, resumed=lambda _id: self.load())

    def action_stop(self) -> None:
        row = self.current_row()
        if row is not None and row.status == "queued":
            self.notify("The run under the cursor has not started: d takes it out of the queue.", severity="warning")
            return
        if row is None or row.status not in LIVE:
            self.notify("The run under the cursor is not running.", severity="warning")
            return
        confirm_stop(self.app, row.id)

    def current_row(self) -> RunRow | None:
        run_id = self.current_id()
        return next((r for r in self.rows if r.id == run_id), None)

    def _queued_row(self) -> RunRow | None:
        row = self.current_row()
        if row is None or row.status != "queued":
            self.notify("The run under the cursor is not queued.", severity="warning")
            return None
        return row

    def action_queue_up(self) -> None:
        row = self._queued_row()
        if row is not None:
            move_up(self.app, row.id, done=self.load)

    def action_dequeue(self) -> None:
        row = self._queued_row()
        if row is not None:
            confirm_cancel_queued(self.app, row.id, done=self.load)


def _short(key: str) -> str:
    """A metric's column heading: short names for the common ones, else the last part of its key."""
    return {"rewards/margins": "margin", "rewards/accuracies": "acc", "mean_token_accuracy": "acc"}.get(
        key, key.rsplit("/", 1)[-1])

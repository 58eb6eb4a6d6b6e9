"""Sweeps: every sweep in the store; the selected one's members ranked, and its metric charted against the grid."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tui.actions import confirm_stop_sweep
from tui.display.sweeps import MemberRow, SweepRow, head_lines, member_ids, member_rows, sweep_plot, sweep_row
from tui.styles import STATUS_STYLE, VERDICT_STYLE
from tui.widgets.sweepchart import SweepChart

MARK_STYLE = {"best": "bold green", "tied": "yellow"}
# A sweep in one of these has members that may still change: the screen keeps re-reading it.
SWEEP_LIVE = ("queued", "running", "stopping")
# The best point right after the status: what a narrow terminal should still show.
LIST_COLUMNS = (("id", "id"), ("status", "status"), ("best", "best"), ("members", "members"), ("grid", "grid"),
                ("metric", "metric"))


class SweepsScreen(Screen[None]):
    """The sweep list on top; the highlighted sweep's members below, best first, and its chart."""

    CSS_PATH = "sweeps.tcss"

    AUTO_FOCUS = "#sweeps-table"
    BINDINGS = [
        Binding("c", "compare", "Compare members"),
        Binding("x", "stop_sweep", "Stop sweep"),
        Binding("r", "refresh", "Refresh"),
        Binding("n", "app.switch_mode('recipes')", "New sweep"),
        Binding("escape", "back_to_list", "Sweeps", show=False),
    ]
    PALETTE = [
        ("Sweeps: compare the members of this sweep", "compare", "overlaid charts and config diff of every member"),
        ("Sweeps: stop this sweep", "stop_sweep", "queued members leave the queue, running ones stop"),
        ("Sweeps: refresh", "refresh", "re-read the sweeps and their members"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.summaries: dict[str, Any] = {}
        self.rows: list[SweepRow] = []
        self.selected: str | None = None
        self.members: list[MemberRow] = []
        self.loaded = False
        self._shown_detail: tuple[Any, ...] | None = None
        self._ticks = 0
        self._ticking = False
        self._suspended = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sweeps-body"):
            yield DataTable(id="sweeps-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="sweep-head")
            yield DataTable(id="sweep-members", cursor_type="row", zebra_stripes=True)
            yield SweepChart(id="sweep-chart", classes="chart")
        yield Static(id="sweeps-status", classes="statusline")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Sweeps"
        table = self.query_one("#sweeps-table", DataTable)
        for label, key in LIST_COLUMNS:
            table.add_column(label, key=key)
        self.query_one("#sweeps-status", Static).update("loading sweeps…")
        self.load()
        self.set_interval(self.app.settings.refresh_s, self._tick)  # type: ignore[attr-defined]
        self._ticking = True

    def _tick(self) -> None:
        # Sweeps with live members change every few seconds; finished ones are re-read five times less often.
        self._ticks += 1
        if any(r.status in SWEEP_LIVE for r in self.rows) or self._ticks % 5 == 0:
            self.load()

    def on_screen_suspend(self) -> None:
        self._suspended = True

    def on_screen_resume(self) -> None:
        if self._suspended:  # back from a member's Run screen or Compare
            self._suspended = False
            self.load()

    @work(thread=True, exclusive=True, group="sweeps-load")
    def load(self) -> None:
        from engine import api

        app: Any = self.app
        try:
            summaries = api.list_sweeps(app.settings.runs_dir)
        except Exception as exc:  # noqa: BLE001 - a broken record is shown, the screen stays up
            app.call_from_thread(self.query_one("#sweeps-status", Static).update, f"Cannot read the sweeps: {exc}")
            return
        app.call_from_thread(self.show, summaries)

    # -- the list ----------------------------------------------------------------------------------------------

    def show(self, summaries: list[Any]) -> None:
        self.summaries = {s.id: s for s in summaries}
        rows = [sweep_row(s) for s in summaries]
        table = self.query_one("#sweeps-table", DataTable)
        if [r.id for r in rows] == [r.id for r in self.rows]:
            for old, new in zip(self.rows, rows, strict=True):
                if old != new:
                    for (_, key), cell in zip(LIST_COLUMNS, self._list_cells(new), strict=True):
                        table.update_cell(new.id, key, cell)
        else:
            table.clear()
            for r in rows:
                table.add_row(*self._list_cells(r), key=r.id)
        self.rows, self.loaded = rows, True
        if self.selected not in self.summaries:
            self.selected = rows[0].id if rows else None
        if self.selected is not None:
            index = table.get_row_index(self.selected)
            if table.cursor_row != index:
                table.move_cursor(row=index)
        self.render_detail()
        self._status_line()

    def _list_cells(self, r: SweepRow) -> list[Text]:
        return [Text(r.id), Text(r.status, style=STATUS_STYLE.get(r.status, "")),
                Text(r.best, style="bold green" if r.best.endswith("(best)") else ""), Text(r.members), Text(r.grid),
                Text(r.metric)]

    def _status_line(self) -> None:
        if not self.rows:
            text = ("No sweeps yet: in Configure (n), type several values in a numeric field (β 0.05,0.1,0.5), or "
                    "run `reins sweep RECIPE --grid method.beta=0.05,0.1`.")
        else:
            live = sum(r.status in SWEEP_LIVE for r in self.rows)
            text = f"{len(self.rows)} sweeps · {live} live · enter: its members · c compares them · x stops it"
        self.query_one("#sweeps-status", Static).update(text)

    def select(self, sweep_id: str) -> None:
        """Highlight `sweep_id` (a sweep just queued from Configure): shown once the next read has it."""
        self.selected = sweep_id
        if self._ticking:  # else on_mount's first read is still to come (the screen was made just now)
            self.load()

    @on(DataTable.RowHighlighted, "#sweeps-table")
    def _sweep_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = str(event.row_key.value)
        if key != self.selected and key in self.summaries:
            self.selected = key
            self.render_detail()

    @on(DataTable.RowSelected, "#sweeps-table")
    def _sweep_chosen(self, _event: DataTable.RowSelected) -> None:
        self.query_one("#sweep-members", DataTable).focus()

    def action_back_to_list(self) -> None:
        self.query_one("#sweeps-table", DataTable).focus()

    # -- the selected sweep ------------------------------------------------------------------------------------

    def render_detail(self) -> None:
        """The selected sweep's head, members table and chart, redrawn only when what they show has changed."""
        s = self.summaries.get(self.selected or "")
        rows = member_rows(s) if s else []
        plot = sweep_plot(s) if s else None
        lines = head_lines(s) if s else ["No sweep selected."]
        detail = (self.selected, tuple(rows), plot, tuple(lines))
        if detail == self._shown_detail:
            return
        self._shown_detail = detail
        head = Text(lines[0], style="bold")
        for line in lines[1:]:
            head.append("\n" + line, style="yellow" if line.startswith("tied") else "dim")
        self.query_one("#sweep-head", Static).update(head)
        self._fill_members(s, rows)
        self.query_one(SweepChart).show(plot, s.metric if s else "")

    def _fill_members(self, s: Any, rows: list[MemberRow]) -> None:
        table = self.query_one("#sweep-members", DataTable)
        current = self.current_member()
        table.clear(columns=True)
        self.members = rows
        if s is None:
            return
        seeds = int(s.record.get("seeds") or 1) > 1
        table.add_column("rank", key="rank")
        for key, name in s.columns.items():
            table.add_column(name, key=f"set:{key}")
        if seeds:
            table.add_column("seed", key="seed")
        table.add_column(s.metric, key="score")
        if seeds:
            table.add_column("this seed", key="own")
        for label, key in (("status", "status"), ("loss", "loss"), ("eval acc", "acc"), ("⚠", "alerts"),
                           ("verdict", "verdict"), ("run", "run")):
            table.add_column(label, key=key)
        for r in rows:
            rank = Text(r.rank)
            if r.mark:
                rank.append(f" {r.mark}", style=MARK_STYLE.get(r.mark, ""))
            cells = [rank, *(Text(v) for v in r.settings), *([Text(r.seed)] if seeds else []),
                     Text(r.score, style="bold" if r.mark == "best" else ""), *([Text(r.own)] if seeds else []),
                     Text(r.status, style=STATUS_STYLE.get(r.status, "")), Text(r.loss), Text(r.eval_acc),
                     Text(str(r.alerts), style="bold yellow") if r.alerts else Text(""),
                     Text(r.verdict, style=VERDICT_STYLE.get(r.verdict.split(" ")[0], "")),
                     Text(r.run_id or "never queued", style="" if r.run_id else "dim")]
            table.add_row(*cells, key=r.key)
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))

    def current_member(self) -> str | None:
        table = self.query_one("#sweep-members", DataTable)
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - an empty or shrinking table has no cursor row
            return None

    @on(DataTable.RowSelected, "#sweep-members")
    def _member_chosen(self, event: DataTable.RowSelected) -> None:
        row = next((r for r in self.members if r.key == str(event.row_key.value)), None)
        if row is None or row.run_id is None:
            self.notify("This member was never queued (its recipe failed when the sweep was submitted).",
                        severity="warning")
            return
        self.app.open_run(row.run_id)  # type: ignore[attr-defined]

    # -- actions -----------------------------------------------------------------------------------------------

    def action_compare(self) -> None:
        s = self.summaries.get(self.selected or "")
        if s is None:
            self.notify("No sweep selected.", severity="warning")
            return
        self.app.open_compare(member_ids(s))  # type: ignore[attr-defined]

    def action_stop_sweep(self) -> None:
        s = self.summaries.get(self.selected or "")
        if s is None or s.ended:
            self.notify("The selected sweep has ended." if s else "No sweep selected.", severity="warning")
            return
        confirm_stop_sweep(self.app, s.id, done=self.load)

    def action_refresh(self) -> None:
        self.load()

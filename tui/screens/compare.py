"""Compare: two or more runs side by side — what differs in their config, overlaid charts, final metrics, alerts."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from engine.recipe.methods import charts_for
from tui.display.cells import fmt
from tui.display.diff import config_diff, read_recipe
from tui.display.rows import measured_peak, read_estimate
from tui.display.series import Series, next_x, read_series


class CompareScreen(Screen[None]):
    """Runs compared; runs are labelled A, B, C… in every table and chart."""

    CSS_PATH = "compare.tcss"

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("e", "toggle_x", "x axis")]
    PALETTE = [("Compare: x axis step / epoch / tokens", "toggle_x",
                "align the overlaid charts by step, epoch or tokens seen")]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.labels = [chr(ord("A") + i) if i < 26 else str(i) for i in range(len(run_ids))]
        self.series: list[Series] = []
        self.x_axis = "step"
        self.loaded = False

    def compose(self) -> ComposeResult:
        from engine.runs.rundir import RunDir
        from tui.widgets.chart import MetricChart

        app: Any = self.app
        methods = {RunDir(app.settings.runs_dir / r).read().get("method") for r in self.run_ids}
        method = methods.pop() if len(methods) == 1 else None
        yield Header()
        with VerticalScroll(id="compare-body"):
            yield Static(id="compare-runs", classes="compare-title")
            yield Static("[b]config: only what differs[/b]", classes="compare-title")
            yield DataTable(id="compare-diff", cursor_type="none")
            yield Static("[b]final metrics[/b]", classes="compare-title")
            yield DataTable(id="compare-metrics", cursor_type="none")
            yield Static("[b]charts[/b] (train lines, eval markers)", classes="compare-title")
            with Grid(id="compare-grid"):
                for title, keys in charts_for(method):
                    yield MetricChart(title, keys, classes="chart")
            yield Static("[b]alerts[/b]", classes="compare-title")
            yield Static(id="compare-alerts")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Compare"
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        from engine import api

        app: Any = self.app
        views, series, recipes = [], [], []
        for run_id in self.run_ids:
            view = api.get_run(run_id, app.settings.runs_dir)
            views.append(view)
            series.append(read_series(view.dir.events)[0])
            recipes.append(read_recipe(view.dir.path))
        app.call_from_thread(self.show, views, series, recipes)

    def show(self, views: list[Any], series: list[Series], recipes: list[dict[str, Any]]) -> None:
        self.series = series
        runs = Text()
        for label, v in zip(self.labels, views, strict=True):
            runs.append(f"{label} ", style="bold reverse")
            runs.append(f" {v.id}  {v.status}  {v.record.get('method', '?')}\n")
        self.query_one("#compare-runs", Static).update(runs)

        diff = self.query_one("#compare-diff", DataTable)
        diff.clear(columns=True)
        diff.add_columns("setting", *self.labels)
        rows = config_diff(recipes)
        for key, values in rows:
            diff.add_row(key, *(Text(_cfg(v), style="bold yellow") for v in values))
        if not rows:
            diff.add_row("(identical recipes)", *[""] * len(self.labels))

        metrics = self.query_one("#compare-metrics", DataTable)
        metrics.clear(columns=True)
        metrics.add_columns("metric", *self.labels)
        from engine.recipe.methods import key_metrics

        method = views[0].record.get("method") if views else None
        keys = [k for k in key_metrics(method) if any(k in v.summary.last.get("train", {}) for v in views)]
        for k in keys:
            metrics.add_row(k, *(fmt(v.summary.last.get("train", {}).get(k)) for v in views))
        eval_keys = [k for k in key_metrics(method) if any(k in v.summary.last.get("eval", {}) for v in views)]
        for k in eval_keys:
            metrics.add_row(f"eval {k}", *(fmt(v.summary.last.get("eval", {}).get(k)) for v in views))
        from engine.verdict.report import evaluation_rows

        post = [evaluation_rows((s.evaluation or {}).get("values") or {}) for s in series]
        for label in dict.fromkeys(k for rows in post for k in rows):  # labels in first-seen order, once each
            metrics.add_row(label, *(rows.get(label, "") for rows in post))
        if any(v.record.get("verdict") for v in views):  # the report's keep / don't keep and its headline number
            from engine.verdict.decision import verdict_cell

            metrics.add_row("verdict", *(verdict_cell(v.record) for v in views))
        metrics.add_row("steps", *(str(v.summary.step) for v in views))
        metrics.add_row("alerts", *(str(v.summary.alerts) for v in views))
        est = [read_estimate(v.dir.path) for v in views]
        metrics.add_row("VRAM est GiB", *(fmt(e.get("total_gib"), 2) if e else "" for e in est))
        metrics.add_row("peak GiB", *(fmt(measured_peak(v), 2) for v in views))

        alerts = Text()
        for label, s in zip(self.labels, series, strict=True):
            alerts.append(f"{label} ", style="bold reverse")
            if not s.alerts:
                alerts.append(" no alerts\n", style="dim")
                continue
            alerts.append(f" {len(s.alerts)} alert{'s' if len(s.alerts) != 1 else ''}\n")
            for a in s.alerts:
                alerts.append(f"   step {a.get('step', '?')} {a.get('rule', 'alert')}: {a.get('message', '')}\n")
        self.query_one("#compare-alerts", Static).update(alerts)
        self.loaded = True
        self.draw_charts()

    def draw_charts(self) -> None:
        runs = list(zip(self.labels, self.series, strict=True))
        for chart in self.query("MetricChart"):
            chart.show(runs, x=self.x_axis)  # type: ignore[attr-defined]

    def action_toggle_x(self) -> None:
        self.x_axis = next_x(self.x_axis)
        self.notify(f"x axis: {self.x_axis}")
        self.draw_charts()


def _cfg(value: Any) -> str:
    """A config value as written in a recipe (`2e-04`, `sigmoid`, `null`)."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)

"""Run (live): progress with ETA and throughput, metric charts, alerts, samples and the log tail of one run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog, Static, TabbedContent, TabPane

from engine.estimate.gpus import Gpu, read_gpus
from engine.formatting import hms
from engine.recipe.methods import charts_for
from tui.actions import InOrder, confirm_resume, confirm_stop, mark_sample
from tui.display.cells import fmt
from tui.display.progress import gpu_line, progress, rank_peaks
from tui.display.rows import measured_peak, read_estimate
from tui.display.series import Series, next_x
from tui.follow import Follower, RunUpdated, log_tail
from tui.styles import LIVE, STATUS_STYLE

if TYPE_CHECKING:
    from tui.widgets.samples import SamplesPane


class RunScreen(Screen[None]):
    """One run, followed live by tailing its events.jsonl; reopening it shows the full history."""

    CSS_PATH = "run.tcss"

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("g", "tab('charts')", "Charts"),
        Binding("a", "tab('alerts')", "Alerts"),
        Binding("l", "tab('log')", "Log"),
        Binding("m", "tab('metrics')", "Metrics", show=False),
        Binding("p", "tab('samples')", "Samples", show=False),
        Binding("e", "toggle_x", "x axis"),
        Binding("x", "stop", "Stop run"),
        Binding("u", "resume", "Resume"),
    ]
    PALETTE = [
        ("Run: show charts", "tab('charts')", "loss, margins, accuracies, log-probs, rewards"),
        ("Run: show alerts", "tab('alerts')", "red flags with their evidence"),
        ("Run: show log", "tab('log')", "the worker's stdout/stderr"),
        ("Run: show sample generations", "tab('samples')", "policy vs reference completions"),
        ("Run: show latest metrics", "tab('metrics')", "train, eval and eval at start"),
        ("Run: x axis step / epoch / tokens", "toggle_x", "align charts by step, epoch or tokens seen"),
        ("Run: stop this run", "stop", "it saves a checkpoint and ends `stopped`"),
        ("Run: resume this run", "resume", "a stopped, failed or crashed run continues from its newest checkpoint"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.series = Series()
        self.summary: Any = None
        self.record: dict[str, Any] = {}
        self.status = "created"
        self.follower: Follower | None = None
        self.x_axis = "step"
        self.loaded = False
        self.estimate: dict[str, Any] | None = None
        self.gpu: list[Gpu] | None = None
        self.has_gpu = True  # until NVML says otherwise
        self.journal_read = False  # the annotation journal is read once samples show, then after each mark
        self.marks: InOrder | None = None

    def compose(self) -> ComposeResult:
        from engine.runs.rundir import RunDir
        from tui.widgets.chart import MetricChart
        from tui.widgets.samples import SamplesPane

        app: Any = self.app
        self.rd = RunDir(app.settings.runs_dir / self.run_id)
        self.record = self.rd.read()
        yield Header()
        yield Static(id="run-head")
        yield Static(id="run-progress")
        with TabbedContent(id="run-tabs", initial="charts"):
            with TabPane("Charts", id="charts"):
                with VerticalScroll(id="charts-scroll"), Grid(id="chart-grid"):
                    for title, keys in charts_for(self.record.get("method")):
                        yield MetricChart(title, keys, classes="chart")
            with TabPane("Alerts", id="alerts"):
                yield VerticalScroll(Static("No alerts.", id="alerts-list"))
            with TabPane("Metrics", id="metrics"):
                yield DataTable(id="metrics-table", cursor_type="none")
            with TabPane("Samples", id="samples"):
                yield SamplesPane(self.run_id, id="samples-pane")
            with TabPane("Log", id="log"):
                yield RichLog(id="run-log", max_lines=2000, wrap=False, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        from engine.runs.events import Summary

        app: Any = self.app
        self.sub_title = "Run"
        self.summary = Summary()
        self.estimate = read_estimate(self.rd.path)
        self.query_one("#metrics-table", DataTable).add_columns("metric", "train", "eval", "eval at start")
        self.query_one(TabbedContent).hide_tab("samples")  # shown once the run has samples or an evaluation
        log = self.query_one(RichLog)
        for line in log_tail(self.rd.stdout, 200):
            log.write(line)
        size = self.rd.stdout.stat().st_size if self.rd.stdout.exists() else 0
        self.follower = Follower(self, self.rd.path, 0, log_offset=size, poll_s=app.settings.poll_s).start()
        self.set_interval(2.0, self.check_alive)
        self.set_interval(2.0, self.poll_gpu)
        self.poll_gpu()
        self.refresh_view()

    def on_unmount(self) -> None:
        if self.follower:
            self.follower.stop()

    def on_run_updated(self, message: RunUpdated) -> None:
        from engine.runs.events import Chunk

        if self.follower is None or message.run_id != self.run_id:
            return
        batch = self.follower.take()
        if batch.record is not None:
            self.record = batch.record
        if batch.events:
            self.summary.update(Chunk(batch.events, self.follower.offset))
            before = len(self.series.alerts)
            self.series.add(batch.events)
            if self.loaded:
                for alert in self.series.alerts[before:]:
                    self.notify(f"{alert.get('rule', 'alert')}: {alert.get('message', '')}", title="Red flag",
                                severity="warning", timeout=8)
        if batch.log_lines:
            log = self.query_one(RichLog)
            for line in batch.log_lines:
                log.write(line)
        self.loaded = True
        self.refresh_view()

    def check_alive(self) -> None:
        # A worker that died without a final event is `crashed`: decided here, by the reader.
        if self.status in LIVE:
            self.record = self.rd.read()
            self.refresh_view(charts=False)

    def poll_gpu(self) -> None:
        if self.has_gpu and self.status in LIVE:
            self.run_worker(self._read_gpu, thread=True, exclusive=True, group="gpu")

    def _read_gpu(self) -> None:
        self.app.call_from_thread(self._show_gpu, read_gpus() or None)

    def _show_gpu(self, stats: list[Gpu] | None) -> None:
        self.gpu, self.has_gpu = stats, stats is not None
        if stats is not None:
            self.refresh_view(charts=False)

    # -- drawing ---------------------------------------------------------------------------------------------

    def refresh_view(self, charts: bool = True) -> None:
        from engine.runs.store import RunView, derive_status

        self.status = derive_status(self.record, self.summary)
        self.query_one("#run-head", Static).update(self._head())
        self.query_one("#run-progress", Static).update(self._progress(RunView(self.rd, self.record, self.summary)))
        if charts:
            for chart in self.query("MetricChart"):
                chart.show([("", self.series)], x=self.x_axis)  # type: ignore[attr-defined]
            self._alerts()
            self._metrics()
            self._samples()

    def _head(self) -> Text:
        rec = self.record
        text = Text.assemble((self.run_id, "bold"), "  ", (self.status, STATUS_STYLE.get(self.status, "")))
        model = Path(str(rec.get("model", "?"))).name
        text.append(f"   {rec.get('method', '?')} · {model}", style="dim")
        if self.summary.error or rec.get("error"):
            text.append(f"\nerror: {self.summary.error or rec.get('error')}", style="red")
        elif self.status == "crashed":
            text.append("\nthe worker is gone without a final status: see the Log tab", style="red")
        return text

    def _progress(self, view: Any) -> Group:
        p = progress(self.summary)
        line = Table.grid(padding=(0, 1))
        line.add_column(no_wrap=True)
        line.add_column(ratio=1)
        line.add_column(no_wrap=True)
        if p["total"]:
            label = f"step {p['step']}/{p['total']}"
            bar: Any = ProgressBar(total=p["total"], completed=p["step"])
            pct = f"{p['fraction'] * 100:3.0f}%"
        else:
            label = "loading model and data…" if self.status in ("created", "starting") else f"step {p['step']}"
            bar, pct = Text(""), ""
        line.add_row(label, bar, pct)
        facts = []
        if self.summary.phase and self.status in LIVE:
            facts.append(f"{self.summary.phase}…")  # the steps are done; say why the run has not ended yet
        elif p["eta_s"] is not None and self.status in LIVE:
            facts.append(f"ETA {hms(p['eta_s'])}")
        if p["s_per_step"]:
            facts.append(f"{p['s_per_step']:.2f} s/step")
        if p["tokens_per_s"]:
            facts.append(f"{p['tokens_per_s']:.0f} tok/s")
        if self.summary.epoch is not None:
            facts.append(f"epoch {self.summary.epoch:.2f}")
        est = self.estimate.get("total_gib") if self.estimate else None
        peak = measured_peak(view)
        mem = "memory " + (f"est {est:.2f} GiB" if isinstance(est, (int, float)) else "est ?")
        mem += f" · peak {peak:.2f} GiB" if peak is not None else " · peak –"
        facts.append(mem)
        per_rank = rank_peaks(view)
        if len(per_rank) > 1:  # imbalance between ranks shows here
            facts.append("per rank " + " / ".join(f"{rank}: {peak:.2f}" for rank, peak in per_rank) + " GiB")
        if self.gpu and self.status in LIVE:
            facts.append(gpu_line(self.gpu))
        n = len(self.series.alerts)
        if n:
            facts.append(f"⚠ {n} alert{'s' if n != 1 else ''}")
        return Group(line, Text(" · ".join(facts), style="dim"))

    def _alerts(self) -> None:
        alerts = self.series.alerts
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("alerts").label = f"Alerts ({len(alerts)})" if alerts else "Alerts"  # type: ignore[assignment]
        if not alerts:
            return
        body = Text()
        for a in alerts:
            sev = str(a.get("severity", "warning"))
            body.append(f"⚠ step {a.get('step', '?')} ", style="bold yellow" if sev == "warning" else "bold red")
            body.append(f"{a.get('rule', 'alert')} ({sev})\n", style="bold")
            body.append(f"  {a.get('message', '')}\n")
            evidence = a.get("evidence") or {}
            if evidence:
                body.append("  " + ", ".join(f"{k}={fmt(v)}" for k, v in evidence.items()) + "\n", style="dim")
        self.query_one("#alerts-list", Static).update(body)

    def _samples(self) -> None:
        from engine.verdict.report import newest_samples
        from tui.widgets.samples import SamplesPane

        if not self.series.samples and not self.series.evaluation:
            return
        self.query_one(TabbedContent).show_tab("samples")
        self.query_one(SamplesPane).show(newest_samples(self.series.samples), self.series.evaluation)
        self._samples_label()
        if self.series.samples and not self.journal_read:
            self.journal_read = True
            self.run_worker(self._read_journal, thread=True, group="journal")

    def _samples_label(self) -> None:
        from tui.widgets.samples import SamplesPane

        pane = self.query_one(SamplesPane)
        found = pane.agreement
        label = f"Samples ({len(pane.samples)})" if pane.samples else "Samples"
        label += f" · {found.short}" if found.n else ""
        self.query_one(TabbedContent).get_tab("samples").label = label  # type: ignore[assignment]

    def _read_journal(self) -> None:
        from engine.runs.annotations import Journal

        records = Journal.of_run(self.rd).records()
        self.app.call_from_thread(self._show_journal, records)

    def _show_journal(self, records: list[dict[str, Any]]) -> None:
        from tui.widgets.samples import SamplesPane

        if not self.is_mounted:  # the screen was closed while the journal was read
            return
        self.query_one(SamplesPane).set_records(records)
        self._samples_label()

    def on_samples_pane_marked(self, message: SamplesPane.Marked) -> None:
        self._samples_label()  # the pane already shows the mark; the journal read back after the write confirms it
        self.marks = self.marks or InOrder(self.app, "marks")
        mark_sample(self.app, self.marks, self.run_id, message.index, message.winner, then=self._read_journal)

    def _metrics(self) -> None:
        from engine.recipe.methods import key_metrics

        table = self.query_one("#metrics-table", DataTable)
        table.clear()
        train, evals = self.summary.last.get("train", {}), self.summary.last.get("eval", {})
        first = self.summary.first.get("eval", {})
        keys = [k for k in key_metrics(self.record.get("method")) if k in train or k in evals]
        keys += sorted(k for k in set(train) | set(evals) if k not in keys)
        for k in keys:
            table.add_row(k, fmt(train.get(k)), fmt(evals.get(k)), fmt(first.get(k)))

    # -- actions ---------------------------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        if tab == "samples" and not (self.series.samples or self.series.evaluation):
            self.notify("No sample generations in this run yet: they are written after training.")
            return
        self.query_one(TabbedContent).active = tab
        if tab == "samples":
            self.query_one("#sample-table").focus()  # ↑ ↓ pick a prompt; p r t mark it

    def action_toggle_x(self) -> None:
        self.x_axis = next_x(self.x_axis)
        self.notify(f"x axis: {self.x_axis}")
        self.refresh_view()

    def action_resume(self) -> None:
        confirm_resume(self.app, self.run_id, resumed=self._resumed)

    def _resumed(self, _run_id: str) -> None:
        # The follower keeps tailing events.jsonl, so the new attempt's events arrive by themselves; run.json now
        # holds the new process, read it at once so the run shows `starting`, not `crashed`, until they do.
        self.record = self.rd.read()
        self.refresh_view(charts=False)

    def action_stop(self) -> None:
        if self.status not in LIVE:
            self.notify(f"This run already ended: {self.status}.", severity="warning")
            return
        confirm_stop(self.app, self.run_id)

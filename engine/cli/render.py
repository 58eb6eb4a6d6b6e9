"""Rich renderables for the headless CLI: run tables, run details, estimates, and the live `watch` view."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from engine.estimate.memory import Estimate
from engine.formatting import fmt, hms
from engine.recipe.methods import key_metrics
from engine.runs.details import RunDetails
from engine.runs.events import TERMINAL_STATUSES
from engine.runs.rundir import elapsed_s
from engine.runs.store import RunView
from engine.verdict.decision import verdict_cell

STATUS_STYLE = {"completed": "green", "running": "cyan", "starting": "cyan", "created": "dim", "queued": "magenta",
                "failed": "red", "crashed": "red", "stopped": "yellow"}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def _duration(view: RunView) -> str:
    live = view.status not in TERMINAL_STATUSES
    return hms(elapsed_s(view.record, datetime.now(timezone.utc) if live else None))


def runs_table(views: list[RunView]) -> Table:
    table = Table(box=None)
    # Ids are what users copy into other commands: never truncate them, shrink the other columns instead.
    table.add_column("id", no_wrap=True, min_width=max((len(v.id) for v in views), default=2))
    for col in ("status", "method", "model", "step", "loss", "margin", "acc", "verdict", "duration"):
        table.add_column(col)
    for v in views:
        m, s = v.summary.last.get("train", {}), v.summary
        steps = f"{s.step}/{s.max_steps}" if s.max_steps else str(s.step or "")
        shown = [fmt(m[k]) if k in m else "" for k in ("loss", "rewards/margins", "rewards/accuracies")]
        model = Path(str(v.record.get("model", "?"))).name
        status = status_text(v.status)
        if v.record.get("damaged"):
            status.append(" (damaged)", style="dim")
        table.add_row(v.id, status, v.what, model, steps, *shown, verdict_cell(v.record), _duration(v))
    return table


def metrics_table(view: RunView) -> Table:
    s = view.summary
    method = view.record.get("method")
    train, evals, first_eval = s.last.get("train", {}), s.last.get("eval", {}), s.first.get("eval", {})
    table = Table("metric", "train", "eval", "eval at start", box=None)
    names = [k for k in key_metrics(method) if k in train or k in evals]
    for k in names:
        table.add_row(k, fmt(train[k]) if k in train else "", fmt(evals[k]) if k in evals else "",
                      fmt(first_eval[k]) if k in first_eval else "")
    return table


def run_detail(details: RunDetails) -> Group:
    view = details.view
    rec, s = view.record, view.summary
    head = Text.assemble((view.id, "bold"), "  ", status_text(view.status))
    lines = [
        head,
        Text(f"{view.what} on {rec.get('model', '?')}   step {s.step}"
             + (f"/{s.max_steps}" if s.max_steps else "") + f"   {_duration(view)}"),
        Text(f"run directory: {view.dir.path}", style="dim"),
    ]
    if rec.get("synth"):  # a generation run: what it wrote, not training metrics
        syn = rec["synth"]
        skipped = ", ".join(f"{syn[k]} {k.replace('_', ' ')}" for k in ("identical", "empty", "below_threshold")
                            if syn.get(k))
        lines.append(Text(f"{syn.get('pairs')} pairs of {syn.get('prompts')} prompts in {syn.get('seconds')} s "
                          f"({syn.get('s_per_pair')} s per pair){'; skipped: ' + skipped if skipped else ''} → "
                          f"{syn.get('output')}"))
    if view.status == "crashed":
        lines.append(Text("the worker process is gone without a final status event: see `reins logs`", style="red"))
    error = s.error or rec.get("error")
    if error:
        lines.append(Text(f"error: {error}", style="red"))
    if not rec.get("synth"):
        lines.append(metrics_table(view))
    final = s.final or {}
    peak = final.get("peak_mem_gb") or final.get("peak_rss_gb") or s.system.get("peak_mem_gb")
    est = details.estimate_total_gib
    if peak or est:
        what = "GPU peak reserved" if "peak_mem_gb" in final or "peak_mem_gb" in s.system else "process peak RSS"
        shown = [f"estimated {est:.2f} GiB"] if est else []
        shown += [f"measured {what} {peak:.2f} GiB"] if peak else []
        lines.append(Text("memory: " + " · ".join(shown), style="dim"))
    if final.get("artifacts", {}).get("final"):
        lines.append(Text(f"trained adapter/model: {final['artifacts']['final']}", style="green"))
    if details.verdict:
        lines.append(Text(f"verdict: {details.verdict}  (report: {details.report_md})"))
    return Group(*lines)


def estimate_table(est: Estimate, explain: bool = False) -> Group:
    """The breakdown by term with its formula (and, with `explain`, the general rule), total, verdict, fixes."""
    table = Table("term", "GiB", "how it is computed", box=None)
    for t in est.terms:
        how = Text(t.formula, style="dim")
        if explain and t.help:
            how.append("\n" + t.help, style="italic dim")
        table.add_row(t.name, f"{t.gib:.2f}", how)
    table.add_row(Text("total", style="bold"), Text(f"{est.total_gib:.2f}", style="bold"), "")
    parts: list[Any] = [
        Text(f"{est.params / 1e6:,.1f}M parameters, {est.trainable_params / 1e6:,.2f}M trainable"),
        table,
    ]
    if est.verdict:
        style = {"fits": "green", "tight": "yellow"}.get(est.verdict, "red")
        parts.append(Text(f"{est.verdict} on a {est.gpu_memory_gib:.0f} GiB GPU", style=f"bold {style}"))
        for sug in est.suggestions:
            how = " ".join([f"--set {x}" for x in sug["set"]] + list(sug.get("flags", [])))
            then = " (then fits)" if sug.get("fits") else ""
            parts.append(Text(f"  {sug['change']}: −{sug['saves_gib']:.2f} GiB{then}   {how}", style="dim"))
    else:
        parts.append(Text("no GPU detected: pass --gpu-memory GiB for a verdict", style="dim"))
    return Group(*parts)


def progress_line(event: dict[str, Any], method: str | None) -> str | None:
    """One plain line per event worth printing when stdout is not a terminal (CI logs, scripts)."""
    kind = event.get("kind")
    if kind == "status":
        why = event.get("error") or event.get("reason")
        extra = f" ({why})" if why else ""
        return f"status: {event.get('status')}{extra}"
    if kind == "metric":
        values = event.get("values", {})
        shown = [f"{k}={fmt(values[k])}" for k in key_metrics(method) if k in values]
        return f"{event.get('split', 'train')} step {event.get('step')}: " + " ".join(shown)
    if kind == "alert":
        return f"ALERT {event.get('rule')}: {event.get('message')}"
    if kind == "phase":
        return f"{event.get('name')}: {event.get('detail', '')}".rstrip(": ")
    if kind == "evaluation":
        from engine.verdict.report import evaluation_summary

        return "post-training evaluation: " + evaluation_summary(event.get("values") or {})
    return None


def _live_panel(view: RunView) -> Panel:
    s = view.summary
    parts: list[Any] = [Text.assemble((view.id, "bold"), "  ", status_text(view.status))]
    if s.max_steps:
        bar = ProgressBar(total=s.max_steps, completed=s.step, width=40)
        eta = ""
        sps = s.system.get("s_per_step")
        if sps and s.step < s.max_steps:
            eta = f"  ETA {int(sps * (s.max_steps - s.step))}s"
        rate = f"  {sps:.2f} s/step" if sps else ""
        doing = f"  — {s.phase}…" if s.phase and view.status == "running" else ""
        parts.append(Group(bar, Text(f"step {s.step}/{s.max_steps}{rate}{eta}{doing}")))
    else:
        waiting = (view.record.get("queue") or {}).get("waiting")
        parts.append(Text("loading model and data…" if view.status in ("starting", "created") else
                          f"in the queue — {waiting or 'waiting for the scheduler'} (`reins queue`)"
                          if view.status == "queued" else f"step {s.step}"))
    parts.append(metrics_table(view))
    mem = s.system
    if mem:
        keys = ("gpu_mem_allocated_gb", "peak_mem_gb", "rss_gb", "peak_rss_gb", "tokens_per_s")
        parts.append(Text("  ".join(f"{k}={fmt(mem[k])}" for k in keys if k in mem), style="dim"))
    if s.error:
        parts.append(Text(escape(s.error), style="red"))
    return Panel(Group(*parts), title=f"reins · {view.record.get('method', '')}", expand=False)


def live_view(run_id: str, runs_dir: Path | str | None, console: Console) -> RunView:
    """A live panel that redraws as events arrive, until the run ends."""
    from engine import api

    with Live(console=console, refresh_per_second=4, transient=False) as live:
        def on_events(_events: list[dict[str, Any]], view: RunView) -> None:
            live.update(_live_panel(view))

        live.update(_live_panel(api.get_run(run_id, runs_dir)))
        final = api.wait_for(run_id, runs_dir, on_events=on_events)
        live.update(_live_panel(final))
        time.sleep(0.1)
    return final


def probes_line(probed: dict[str, Any]) -> str:
    """What `reins report --probes` measured, in one line: each suite reference → policy, what dropped or failed."""
    suites = probed.get("probes") or {}
    parts = [f"{name} {r['reference']:.2f} → {r['policy']:.2f}" for name, r in suites.items()
             if r.get("reference") is not None]
    dropped = [name for name, r in {**suites, **(probed.get("lm_eval") or {})}.items() if r.get("dropped")]
    failed = [f"{name} failed: {why}" for name, why in (probed.get("errors") or {}).items()]
    return "; ".join([("probes (reference → policy): " + ", ".join(parts)) if parts else "no probe results",
                      f"dropped: {', '.join(dropped) or 'none'}", *failed])

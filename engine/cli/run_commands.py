"""`reins run`, `ls`, `show`, `watch`, `logs`, `stop` and `resume`: starting runs and following them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from engine import api
from engine.cli.options import JsonOut, RunRef, RunsDir, SetOpt
from engine.cli.output import err, exit_for, out, print_json
from engine.cli.queue_commands import parse_devices
from engine.cli.render import live_view, progress_line, run_detail, runs_table
from engine.errors import ReinsError


def run(recipe: str = typer.Argument(..., help="Bundled recipe name (e.g. dpo) or a YAML path."),
        overrides: list[str] | None = SetOpt,
        name: str | None = typer.Option(None, "--name", help="A name for the run (part of its id)."),
        wait: bool = typer.Option(False, "--wait", help="Follow the run until it ends; exit 0 if it completed, "
                                  "1 otherwise."),
        gpu_memory: float | None = typer.Option(None, "--gpu-memory", help="GPU memory in GiB for the "
                                                   "estimate's verdict."),
        run_id: str | None = typer.Option(None, "--run-id", help="Use this run id (multi-node: the same on "
                                          "every node; machine rank 0 creates the run directory)."),
        queue: bool = typer.Option(False, "--queue", help="Add it to the store's queue: it starts when a CPU slot "
                                   "or GPUs with room for its estimate are free (survives logout)."),
        priority: int = typer.Option(0, "--priority", help="With --queue: higher starts first."),
        devices: str | None = typer.Option(None, "--devices", help="Pin the run to these GPU ids, e.g. 0,1 (one "
                                           "process per GPU)."),
        sweep_member: str | None = typer.Option(None, "--sweep-member", hidden=True,
                                                help="JSON of run.json's `sweep` (a SLURM array task's membership)."),
        runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Launch a training run (or a pipeline of runs) detached from this terminal; print where it lives."""
    pipeline_file = api.find_pipeline(recipe)
    if pipeline_file is not None:
        _run_pipeline(pipeline_file, name, runs_dir, wait, as_json)
        return
    if priority and not queue:
        raise ReinsError("--priority orders the queue: add --queue (a run started at once has no place in it).")
    view = api.launch(recipe, overrides or [], name=name, runs_dir=runs_dir, gpu_memory_gib=gpu_memory, run_id=run_id,
                      queue=queue, priority=priority, devices=parse_devices(devices),
                      sweep=_sweep_member(sweep_member))
    for w in view.record.get("warnings", []):  # stderr, so also with --json
        err.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    if not as_json:
        verb = "queued" if queue else "launched"
        err.print(f"[bold]{verb}[/] {view.id}  ({view.record.get('method')}, {view.record.get('model')})")
        err.print(f"  run directory: {view.dir.path}")
        if queue:
            err.print("  the queue:     reins queue")
        err.print(f"  follow it:     reins watch {view.id}    stop it: reins stop {view.id}")
    if not wait:
        if as_json:
            print_json(view.to_dict())
        return
    final = _follow(view.id, runs_dir, plain=as_json or not err.is_terminal)
    if as_json:
        print_json(final.to_dict())
    else:
        out.print(run_detail(api.run_details(final)))
    raise typer.Exit(exit_for(final.status))


def _sweep_member(text: str | None) -> dict[str, Any] | None:
    """`--sweep-member JSON` (written by `reins export slurm --sweep`): run.json's `sweep`."""
    if text is None:
        return None
    try:
        member = json.loads(text)
    except json.JSONDecodeError:
        member = None
    if isinstance(member, dict) and isinstance(member.get("id"), str) and isinstance(member.get("member"), int):
        return member
    raise ReinsError(f"--sweep-member {text!r}: expected a JSON object with the sweep's `id` and the `member` index "
                     "(as `reins export slurm --sweep` writes it).")


def _run_pipeline(path: Path, name: str | None, runs_dir: Path | None, wait: bool, as_json: bool) -> None:
    started = api.start_pipeline(path, name, runs_dir)
    record = started.record
    if not as_json:
        err.print(f"[bold]pipeline[/] {record['id']}: " + " → ".join(s["name"] for s in record["stages"]))
        err.print(f"  record: {started.record_path}")
    if not wait:
        if as_json:
            print_json(record)
        return

    def on_change(rec: dict[str, Any]) -> None:
        if not as_json:
            err.print("  " + "  ".join(f"{s['name']}: {s['status']}" + (f" ({s['run_id']})" if s["run_id"] else "")
                                       for s in rec["stages"]), highlight=False)

    final = api.wait_for_pipeline(record["id"], runs_dir, on_change=on_change)
    if as_json:
        print_json(final)
    else:
        err.print(f"pipeline {final['id']}: {final['status']}" + (f" — {final['error']}" if final.get("error") else ""))
    raise typer.Exit(exit_for(final["status"]))


def _follow(run_id: str, runs_dir: Path | None, plain: bool) -> api.RunView:
    """Follow a run to its end: a live rich view on a terminal, one line per logged step otherwise."""
    if not plain:
        return live_view(run_id, runs_dir, err)
    method = api.get_run(run_id, runs_dir).record.get("method")

    def on_events(events: list[dict[str, Any]], _view: api.RunView) -> None:
        for e in events:
            line = progress_line(e, method)
            if line:
                err.print(line, highlight=False, soft_wrap=True)

    return api.wait_for(run_id, runs_dir, on_events=on_events)


def ls(runs_dir: Path | None = RunsDir, as_json: bool = JsonOut,
       status: str | None = typer.Option(None, "--status", help="Only runs with this status."),
       ranked: bool = typer.Option(False, "--rank", help="Best first: by the report's verdict (keep, inconclusive, "
                                   "don't keep), then its headline number (win rate's lower bound).")) -> None:
    """List runs in the store, newest first (or ranked by their reports with --rank)."""
    views = api.list_runs(runs_dir, ranked=ranked)
    if status:
        views = [v for v in views if v.status == status]
    if as_json:
        print_json([v.to_dict() for v in views])
        return
    if not views:
        err.print("No runs yet. Start one with `reins run dpo`.")
        return
    out.print(runs_table(views))


def show(run_ref: str = RunRef, runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Show one run: settings, status, latest metrics, the estimate and measured memory."""
    details = api.run_details(run_ref, runs_dir)
    if as_json:
        print_json(details.to_dict())
        return
    out.print(run_detail(details))


def watch(run_ref: str = RunRef, runs_dir: Path | None = RunsDir) -> None:
    """Follow a run live until it ends (Ctrl-C stops watching, never the run)."""
    view = api.get_run(run_ref, runs_dir)
    try:
        final = _follow(view.id, runs_dir, plain=not err.is_terminal)
    except KeyboardInterrupt:
        err.print(f"stopped watching; the run goes on (reins watch {view.id})")
        raise typer.Exit(0) from None
    out.print(run_detail(api.run_details(final)))
    raise typer.Exit(exit_for(final.status))


def logs(run_ref: str = RunRef,
         lines: int = typer.Option(50, "--lines", "-n", help="How many lines from the end."),
         follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new output until the run ends."),
         runs_dir: Path | None = RunsDir) -> None:
    """Print the worker's stdout/stderr log."""
    tail = api.read_log(run_ref, lines, runs_dir)
    if not tail.exists:
        err.print(f"{tail.path} does not exist yet.")
        return
    sys.stdout.write("\n".join(tail.lines) + "\n")
    if not follow:
        return
    try:
        for text in api.follow_log(run_ref, tail.end, runs_dir):
            sys.stdout.write(text)
            sys.stdout.flush()
    except KeyboardInterrupt:
        return


def stop(run_ref: str = RunRef,
         timeout: float = typer.Option(120, "--timeout", help="Seconds to wait for the worker to save and stop."),
         runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Stop a run: the worker saves a checkpoint and ends as `stopped`."""
    before = api.get_run(run_ref, runs_dir)
    if before.ended:
        err.print(f"{before.id} already ended: {before.status}.")
    view = api.stop_run(run_ref, runs_dir, wait_s=timeout)
    if as_json:
        print_json(view.to_dict())
    elif view.ended:
        err.print(f"{view.id}: {view.status}")
    else:
        err.print(f"{view.id}: still {view.status} after {timeout:g}s; it is saving a checkpoint — check again with "
                  f"`reins show {view.id}`.")


def resume(run_ref: str = RunRef,
           dry_run: bool = typer.Option(False, "--dry-run", help="Only say what resuming would do."),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation on a terminal."),
           wait: bool = typer.Option(False, "--wait", help="Follow the run until it ends."),
           requeued: bool = typer.Option(False, "--requeued", help="The batch scheduler requeued the job that ran "
                                         "it (SLURM preemption): its processes are gone wherever they ran, so do not "
                                         "check them; a completed run is left as it is (exit 0)."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Continue a crashed, stopped or failed run from its newest checkpoint (same run, step counter continues)."""
    if requeued and (done := api.get_run(run_ref, runs_dir)).status == "completed":
        # The task ended its run, then was requeued before it exited: its work is done.
        err.print(f"{done.id} already completed; nothing to resume.")
        return
    plan = api.plan_resume(run_ref, runs_dir, requeued)
    if as_json and dry_run:
        print_json(plan.to_dict())
        return
    err.print(plan.describe(), highlight=False)
    if dry_run:
        return
    if not yes and sys.stdin.isatty() and not typer.confirm("Resume?", default=True, err=True):
        raise typer.Exit(1)
    view = api.resume_run(plan.run_id, runs_dir, requeued)
    err.print(f"[bold]resumed[/] {view.id} (attempt {plan.attempt})  follow it: reins watch {view.id}")
    if wait:
        view = _follow(view.id, runs_dir, plain=as_json or not err.is_terminal)
    if as_json:
        print_json({**view.to_dict(), "resume": plan.to_dict()})
    elif wait:
        out.print(run_detail(api.run_details(view)))
    if wait:
        raise typer.Exit(exit_for(view.status))

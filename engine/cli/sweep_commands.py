"""`reins sweep`: queue a grid of runs, list sweeps, show one ranked, stop one."""

from __future__ import annotations

from pathlib import Path

import typer

from engine import api
from engine.cli.options import JsonOut, RunsDir, SetOpt
from engine.cli.output import err, out, print_json
from engine.cli.render_sweep import sweep_line, sweep_table, sweeps_table
from engine.errors import ReinsError

ACTIONS = ("ls", "show", "stop")
GridOpt = typer.Option(None, "--grid", "-g", metavar="KEY=V1,V2,…", help="A setting and the values to try "
                       "(repeatable: every combination runs), e.g. method.beta=0.05,0.1,0.5,1.0.")


def sweep(target: str = typer.Argument(..., metavar="RECIPE|ls|show|stop",
                                       help="A recipe (with --grid), a sweep file or `sweeps/<name>`; or `ls`, "
                                            "`show ID`, `stop ID`."),
          sweep_ref: str | None = typer.Argument(None, metavar="[ID]", help="The sweep for show/stop (id, prefix "
                                                                            "or `latest`)."),
          grid: list[str] | None = GridOpt,
          seeds: int | None = typer.Option(None, "--seeds", min=1, max=16, help="Runs per grid point with different "
                                           "train.seed; members are ranked by their mean."),
          overrides: list[str] | None = SetOpt,
          name: str | None = typer.Option(None, "--name", help="A name for the sweep (part of its id and its "
                                          "runs' names)."),
          metric: str | None = typer.Option(None, "--metric", help="What ranks members: headline (the report's "
                                            "win rate or pair accuracy), eval:KEY, train:KEY (default: auto)."),
          direction: str | None = typer.Option(None, "--direction", help="max or min (default: min for losses)."),
          priority: int = typer.Option(0, "--priority", help="Queue priority of every member (higher first)."),
          yes: bool = typer.Option(False, "--yes", "-y", help="Queue a sweep of more than 64 members."),
          dry_run: bool = typer.Option(False, "--dry-run", help="Only list the members and their memory."),
          wait: bool = typer.Option(False, "--wait", help="Follow the sweep until every member has ended, then "
                                    "show the ranking; exit 0 if all completed."),
          runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Run a grid of settings (× seeds) as queued runs and rank them by their evaluation.

    `reins sweep dpo --grid method.beta=0.1,0.5 --wait` · `reins sweep sweeps/beta` · `reins sweep ls` ·
    `reins sweep show latest` · `reins sweep stop ID`. `--set KEY=V` reaches every member; a sweep file's stage
    (its judge) takes `--set STAGE:KEY=V`, e.g. `--set judge:train.max_steps=10`."""
    if target in ACTIONS:
        _action(target, sweep_ref, runs_dir, as_json)
        return
    if sweep_ref is not None:
        raise ReinsError(f"Unexpected argument {sweep_ref!r}: `reins sweep RECIPE --grid KEY=V1,V2` takes one "
                         "recipe; `reins sweep show ID` shows a sweep.")
    if direction not in (None, "max", "min"):
        raise ReinsError(f"--direction must be max or min (got {direction!r}).")
    if dry_run:
        members = api.plan_sweep(target, grid, seeds, overrides or [], metric=metric, direction=direction,
                                 runs_dir=runs_dir)
        if as_json:
            print_json(members)
            return
        for i, m in enumerate(members, 1):
            need = f"{m['need_gib']:.1f} GiB" if m["need_gib"] is not None else "?"
            merged = f"  (also {', '.join(m['merged'])}: identical)" if m["merged"] else ""
            out.print(f"{i:>3}  {m['label']}  needs {need}{merged}", highlight=False)
        err.print(f"{len(members)} run{'s' if len(members) != 1 else ''}; nothing queued (--dry-run)")
        return
    record = api.start_sweep(target, grid, seeds, overrides or [], name, yes, metric, direction, priority, runs_dir)
    n = len(record["members"])
    if not as_json:
        stages = "".join(f" after stage {s['name']} ({s['run_id']})" for s in record.get("stages", []))
        err.print(f"[bold]sweep[/] {record['id']}: {n} run{'s' if n != 1 else ''} queued{stages}")
        err.print(f"  follow it: reins sweep show {record['id']}    the queue: reins queue")
    if not wait:
        if as_json:
            print_json(record)
        return
    final = api.wait_for_sweep(record["id"], runs_dir,
                               on_change=None if as_json else lambda s: err.print(sweep_line(s), highlight=False))
    if as_json:
        print_json(final.to_dict())
    else:
        out.print(sweep_table(final))
    raise typer.Exit(0 if final.status == "completed" else 1)


def _action(action: str, ref: str | None, runs_dir: Path | None, as_json: bool) -> None:
    if action == "ls":
        summaries = api.list_sweeps(runs_dir)
        if as_json:
            print_json([s.to_dict() for s in summaries])
        elif not summaries:
            err.print("No sweeps yet. Start one with `reins sweep dpo --grid method.beta=0.05,0.1,0.5`.")
        else:
            out.print(sweeps_table(summaries))
        return
    if ref is None:
        raise ReinsError(f"`reins sweep {action}` needs a sweep id (or `latest`); `reins sweep ls` lists them.")
    summary = api.sweep_summary(ref, runs_dir) if action == "show" else api.stop_sweep(ref, runs_dir)
    if as_json:
        print_json(summary.to_dict())
        return
    if action == "stop":
        err.print(f"sweep {summary.id}: queued members cancelled, running ones told to stop")
    out.print(sweep_table(summary))

"""`reins queue`: the run store's queue — list it, cancel, reorder, pause, resume, and its settings."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from engine import api
from engine.cli.options import JsonOut, RunRef, RunsDir
from engine.cli.output import err, out, print_json
from engine.cli.render_queue import queue_table
from engine.errors import ReinsError

Assignments = typer.Argument(None, metavar="KEY=VALUE...", help="e.g. max_running=2 pack=true pack_share=0.8")
queue_app = typer.Typer(help="The run store's queue: `reins queue` lists running and queued runs in order.",
                        no_args_is_help=False, add_completion=False)


@queue_app.callback(invoke_without_command=True)
def show_queue(ctx: typer.Context, runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """List running work (with the GPUs each holds) and queued runs in the order they will start."""
    if ctx.invoked_subcommand is not None:
        return
    status = api.queue_status(runs_dir)
    if as_json:
        print_json(status.to_dict())
        return
    out.print(queue_table(status))


@queue_app.command("cancel")
def cancel(run_ref: str = RunRef, runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Take a queued run out of the queue (it ends `stopped` and never starts)."""
    view = api.cancel_queued(run_ref, runs_dir)
    if as_json:
        print_json(view.to_dict())
    else:
        err.print(f"{view.id}: cancelled ({view.status})")


@queue_app.command("up")
def up(run_ref: str = RunRef, runs_dir: Path | None = RunsDir) -> None:
    """Move a queued run one place up the queue."""
    view = api.prioritize(run_ref, up=True, runs_dir=runs_dir)
    err.print(f"{view.id} moved up")
    out.print(queue_table(api.queue_status(runs_dir)))


@queue_app.command("priority")
def priority(run_ref: str = RunRef, value: int = typer.Argument(..., help="Higher starts first (default 0)."),
             runs_dir: Path | None = RunsDir) -> None:
    """Set a queued run's priority: higher priorities start first, equal ones in the order they were queued."""
    view = api.prioritize(run_ref, value, runs_dir=runs_dir)
    err.print(f"{view.id}: priority {value}")


@queue_app.command("pause")
def pause(runs_dir: Path | None = RunsDir) -> None:
    """Start no more queued runs (running ones go on) until `reins queue resume`."""
    api.pause_queue(runs_dir)
    err.print("queue paused: nothing new starts; `reins queue resume` lets it go on")


@queue_app.command("resume")
def resume(runs_dir: Path | None = RunsDir) -> None:
    """Let the queue start runs again (and start its scheduler if work waits)."""
    api.resume_queue(runs_dir)
    err.print("queue resumed")


@queue_app.command("set")
def set_(assignments: list[str] | None = Assignments, runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Show or change the store-wide queue settings (runs/queue/settings.yaml)."""
    settings = api.queue_settings(parse_assignments(assignments or []), runs_dir)
    if as_json:
        print_json(settings.model_dump())
        return
    for key, value in settings.model_dump().items():
        out.print(f"{key}: {escape(str(value))}", highlight=False)


def parse_assignments(items: list[str]) -> dict[str, object]:
    """`KEY=VALUE` strings (values read as YAML scalars) → a dict; a malformed item is a ReinsError."""
    import yaml

    found: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ReinsError(f"Expected KEY=VALUE, got {item!r} (e.g. `reins queue set max_running=2`).")
        found[key.strip()] = yaml.safe_load(text) if text.strip() else None
    return found


def parse_devices(text: str | None) -> list[int] | None:
    """`--devices 0,1` → [0, 1]; a malformed list is a ReinsError."""
    if text is None:
        return None
    try:
        ids = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ReinsError(f"--devices takes GPU ids separated by commas, e.g. 0,1 (got {text!r}).") from None
    if not ids or any(i < 0 for i in ids):
        raise ReinsError(f"--devices takes GPU ids ≥ 0 separated by commas, e.g. 0,1 (got {text!r}).")
    return ids

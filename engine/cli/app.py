"""The `reins` command line (typer): commands parse arguments, call `engine.api` and render what it returns.

The commands live beside this file by job (recipe_commands, run_commands, verdict_commands, transfer_commands);
this module builds the typer app from them, in the order `reins --help` lists them, and is the console-script entry
point."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from engine.cli import (
    annotate_commands,
    data_commands,
    queue_commands,
    recipe_commands,
    run_commands,
    sweep_commands,
    synth_commands,
    transfer_commands,
    verdict_commands,
)
from engine.cli.options import RunsDir
from engine.cli.output import err
from engine.errors import ReinsError

app = typer.Typer(
    name="reins",
    help="Reins: align open language models (SFT, DPO and its variants) from the terminal. "
    "`reins` alone opens the TUI; `reins run dpo --wait` trains the bundled DPO demo; `reins ls` lists runs.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# `reins data ...`: the data studio — inspect, convert, sample, split (data_commands) and annotate (annotate_commands).
annotate_commands.register(data_commands.data_app)


@app.callback(invoke_without_command=True)
def _default(ctx: typer.Context) -> None:
    """With no command, open the TUI."""
    if ctx.invoked_subcommand is None:
        tui(runs_dir=None)


@app.command()
def tui(runs_dir: Path | None = RunsDir) -> None:
    """Open the terminal UI: recipes, VRAM estimate, launch, live runs, compare (quitting never stops runs)."""
    from tui.app import main as tui_main

    tui_main(runs_dir=runs_dir)


app.command()(recipe_commands.recipes)
app.command()(recipe_commands.validate)
app.command()(recipe_commands.estimate)
app.command()(run_commands.run)
recipe_commands.export_app.command("model")(transfer_commands.export_model)
app.add_typer(recipe_commands.export_app, name="export")
app.add_typer(transfer_commands.import_app, name="import")
app.add_typer(queue_commands.queue_app, name="queue")
app.command()(sweep_commands.sweep)
app.command("ls")(run_commands.ls)
app.command()(run_commands.show)
app.command()(run_commands.watch)
app.command()(run_commands.logs)
app.command()(run_commands.stop)
app.command()(run_commands.resume)
app.command()(verdict_commands.health)
app.command()(verdict_commands.report)
app.command()(verdict_commands.annotate)
app.add_typer(data_commands.data_app, name="data")
data_commands.data_app.command()(synth_commands.synth)  # `reins data synth`: a generate run


def main() -> None:
    """Console-script entry point: user mistakes print one paragraph and exit 2, never a traceback."""
    try:
        app()
    except ReinsError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)

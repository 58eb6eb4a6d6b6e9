"""`reins data`: look at a data file before training on it — inspect, sample, split, convert. One `data_app`
sub-app; other data commands register on it the same way."""

from __future__ import annotations

from pathlib import Path

import typer

from engine import api
from engine.cli.options import JsonOut, RunsDir, SetOpt
from engine.cli.output import err, out, print_json
from engine.cli.render_data import inspect_view, sample_view

data_app = typer.Typer(help="Data files: inspect, sample, split, convert (any format Reins reads), annotate, "
                       "and synth (synthetic pairs).",
                       no_args_is_help=True, add_completion=False)

DataFileArg = typer.Argument(..., metavar="FILE", help="A .jsonl/.json/.parquet data file in any format Reins reads.")
RecipeOpt = typer.Option(None, "--recipe", "-r",
                         help="Recipe whose tokenizer, method, max_length, data.fields and data.format to use.")
FormatOpt = typer.Option(None, "--format", help="The file's format (default: the recipe's data.format, else "
                         "detected): trl, sharegpt, alpaca, openai or hh.")
TrainOut = typer.Argument(..., metavar="TRAIN_OUT", help="Where to write the training rows.")
EvalOut = typer.Argument(..., metavar="EVAL_OUT", help="Where to write the held-out rows.")
OutArg = typer.Argument(..., metavar="OUT", help="The .jsonl file to write.")
ForceOpt = typer.Option(False, "--force", help="Overwrite output files that exist.")


@data_app.command("inspect")
def inspect(path: Path = DataFileArg, recipe: str | None = RecipeOpt, overrides: list[str] | None = SetOpt,
            fmt: str | None = FormatOpt,
            category: str | None = typer.Option(None, "--category", help="Field to group the figures by "
                                                "(default: a `category`-like field every row has)."),
            runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Rows, format, token lengths (p50/p95/max, rows over max_length), duplicate prompts, near-identical pairs,
    length bias, empty answers, and figures per category."""
    report = api.inspect_data(path, recipe, overrides or [], fmt, category, runs_dir)
    if as_json:
        print_json(report)
        return
    out.print(inspect_view(report))


@data_app.command("sample")
def sample(path: Path = DataFileArg, n: int = typer.Option(10, "-n", help="How many rows."),
           seed: int = typer.Option(0, "--seed", help="Another seed draws other rows."),
           recipe: str | None = RecipeOpt, fmt: str | None = FormatOpt, as_json: bool = JsonOut) -> None:
    """Print random rows with their answers side by side, to read (stacked on a narrow terminal)."""
    result = api.sample_data(path, n, seed, recipe, (), fmt)
    if as_json:
        print_json(result)
        return
    out.print(sample_view(result, out.width))


@data_app.command("split")
def split(path: Path = DataFileArg,
          train_out: Path = TrainOut, eval_out: Path = EvalOut,
          eval_fraction: float = typer.Option(0.1, "--eval-fraction", help="Share of each category held out."),
          seed: int = typer.Option(0, "--seed"),
          category: str | None = typer.Option(None, "--category", help="Field to stratify by (default: a "
                                              "`category`-like field every row has)."),
          fmt: str | None = FormatOpt, force: bool = ForceOpt, as_json: bool = JsonOut) -> None:
    """Write a train/eval split stratified by category, every copy of a prompt on the same side."""
    result = api.split_data(path, train_out, eval_out, eval_fraction, seed, category, fmt, force)
    if as_json:
        print_json(result)
        return
    err.print(f"{result['rows']} rows → {result['train']} train ({result['train_out']}), {result['eval']} eval "
              f"({result['eval_out']})" + (f", stratified by `{result['category_field']}`"
                                           if result["category_field"] else ""))
    for name, sides in result["categories"].items():
        err.print(f"  {name}: {sides['train']} train, {sides['eval']} eval")


@data_app.command("convert")
def convert(path: Path = DataFileArg,
            out_path: Path = OutArg,
            recipe: str | None = RecipeOpt, fmt: str | None = FormatOpt, force: bool = ForceOpt,
            as_json: bool = JsonOut) -> None:
    """Write the file as TRL conversational rows (prompt/chosen/rejected/completion as chat messages)."""
    result = api.convert_data(path, out_path, recipe, (), fmt, force)
    if as_json:
        print_json(result)
        return
    err.print(f"{result['rows']} rows ({result['format']}) → {result['out']}")

"""`reins recipes`, `validate`, `estimate` and `export slurm`: commands about recipes, before anything runs."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from engine import api
from engine.cli.options import JsonOut, RunsDir, SetOpt
from engine.cli.output import err, out, print_json
from engine.cli.render import estimate_table
from engine.errors import ReinsError


def recipes(as_json: bool = JsonOut) -> None:
    """List the bundled recipes with one line each on when to use them."""
    infos = api.list_recipes()
    pipes = api.list_pipelines()
    if as_json:
        print_json([{"name": i.name, "method": i.method, "path": str(i.path), "description": i.description}
                    for i in infos]
                   + [{"name": p.name, "method": "pipeline", "path": str(p.path), "description": p.description,
                       "stages": p.stages} for p in pipes])
        return
    from rich.table import Table

    table = Table("recipe", "method", "when to use it", box=None, pad_edge=False)
    for i in infos:
        table.add_row(f"[bold]{i.name}[/]", i.method, i.description)
    for p in pipes:
        table.add_row(f"[bold]{p.name}[/]", " → ".join(p.stages), p.description)
    out.print(table)


def validate(recipe: str = typer.Argument(..., help="Bundled recipe name (e.g. dpo) or a YAML path."),
             overrides: list[str] | None = SetOpt, as_json: bool = JsonOut) -> None:
    """Check a recipe, its overrides, its model and its data; report every problem with its dotted path."""
    loaded = api.validate_recipe(recipe, overrides or [])
    r = loaded.recipe
    warnings = api.recipe_warnings(loaded)
    if as_json:
        print_json({"ok": True, "source": str(loaded.source), "warnings": warnings,
                    "recipe": r.model_dump(mode="json")})
        return
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}")
    out.print(f"[green]OK[/] {loaded.source}: method {r.method.name}, model {r.model.name}, "
              f"{'LoRA r=' + str(r.lora.r) if r.lora else 'full fine-tuning'}, data {Path(r.data.train).name}")


def estimate(recipe: str | None = typer.Argument(None, help="Bundled recipe name or a YAML path."),
             overrides: list[str] | None = SetOpt,
             gpu_memory: float | None = typer.Option(None, "--gpu-memory", help="GPU memory in GiB to judge "
                                                        "against (default: the detected GPU)."),
             model: str | None = typer.Option(None, "--model", help="Estimate for this model instead of the "
                                              "recipe's: a catalogue name (see `reins estimate --catalogue`), a "
                                              "folder with config.json, or a cached hub id."),
             liger: bool = typer.Option(False, "--liger", help="Assume Liger kernels (fused RMSNorm, SwiGLU and "
                                        "linear cross-entropy)."),
             gpus: int | None = typer.Option(None, "--gpus", help="GPUs training together (default: the recipe's "
                                             "distributed.num_processes)."),
             strategy: str = typer.Option("ddp", "--strategy", help="How the GPUs share the work: ddp, zero1, "
                                          "zero2, zero3 or fsdp (full shard)."),
             catalogue: bool = typer.Option(False, "--catalogue", help="List the built-in architectures and exit."),
             explain: bool = typer.Option(False, "--explain", help="Show the general formula behind each term."),
             as_json: bool = JsonOut) -> None:
    """Estimate peak GPU memory term by term, with a verdict and the changes that would save the most."""
    if catalogue:
        _print_catalogue(as_json)
        return
    if recipe is None:
        raise ReinsError("reins estimate needs a RECIPE (a bundled name such as dpo, or a YAML path); "
                         "--catalogue lists the built-in architectures.")
    est = api.estimate_recipe(recipe, overrides or [], gpu_memory, model=model, liger=liger, gpus=gpus,
                              strategy=strategy)
    if as_json:
        print_json(est.to_dict())
        return
    out.print(estimate_table(est, explain=explain))


def _print_catalogue(as_json: bool) -> None:
    rows = api.list_architectures()
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    for r in rows:
        out.print(f"{r.name:<16} {r.params / 1e9:7.2f}B  {', '.join(r.hub_ids)}", highlight=False)


export_app = typer.Typer(help="Write files that run Reins elsewhere (e.g. a SLURM batch script).",
                         no_args_is_help=True)


@export_app.command("slurm")
def export_slurm(recipe: str = typer.Argument(..., help="Bundled recipe name or a YAML path."),
                 overrides: list[str] | None = SetOpt,
                 nodes: int = typer.Option(..., "--nodes", help="Machines in the job."),
                 gpus_per_node: int = typer.Option(..., "--gpus-per-node", help="GPUs (processes) per machine."),
                 time_limit: str = typer.Option("04:00:00", "--time", help="Wall-clock limit (HH:MM:SS)."),
                 partition: str | None = typer.Option(None, "--partition", help="SLURM partition."),
                 port: int = typer.Option(29500, "--port", help="Rendezvous port on the first node."),
                 output: Path | None = typer.Option(None, "--output", "-o",  # noqa: B008
                                                    help="Write the script here (default: print it)."),
                 runs_dir: Path | None = RunsDir) -> None:
    """An sbatch script that runs RECIPE on several nodes: `srun` starts `reins run --run-id …` on each."""
    text = api.slurm_script(recipe, overrides or [], nodes=nodes, gpus_per_node=gpus_per_node, time_limit=time_limit,
                            partition=partition, port=port, runs_dir=runs_dir, output=output)
    if output is None:
        sys.stdout.write(text)
        return
    err.print(f"wrote {output}: submit it with `sbatch {output}`")

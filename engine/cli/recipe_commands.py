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
    # A mixture lists several files.
    files = [r.data.train] if isinstance(r.data.train, str) else [s.path for s in r.data.train]
    out.print(f"[green]OK[/] {loaded.source}: method {r.method.name}, model {r.model.name}, "
              f"{'LoRA r=' + str(r.lora.r) if r.lora else 'full fine-tuning'}, "
              f"data {' + '.join(Path(f).name for f in files)}")


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


SweepGridOpt = typer.Option(None, "--grid", "-g", metavar="KEY=V1,V2,…", help="With --sweep: a setting and the "
                            "values to try (repeatable: every combination is a member).")
export_app = typer.Typer(help="Write files for use elsewhere: a SLURM batch script, a trained model with its card.",
                         no_args_is_help=True)


@export_app.command("slurm")
def export_slurm(recipe: str | None = typer.Argument(None, help="Bundled recipe name or a YAML path (not with "
                                                                "--sweep)."),
                 overrides: list[str] | None = SetOpt,
                 nodes: int | None = typer.Option(None, "--nodes", help="Machines in the job (a sweep's tasks run on "
                                                  "one node each)."),
                 gpus_per_node: int = typer.Option(..., "--gpus-per-node", help="GPUs (processes) per machine."),
                 time_limit: str = typer.Option("04:00:00", "--time", help="Wall-clock limit (HH:MM:SS), per task "
                                                "with --sweep."),
                 partition: str | None = typer.Option(None, "--partition", help="SLURM partition."),
                 port: int | None = typer.Option(None, "--port", help="Rendezvous port on the first node (default "
                                                 "29500)."),
                 sweep: str | None = typer.Option(None, "--sweep", help="A job array, one task per member of this "
                                                  "sweep: a sweep file, `sweeps/<name>`, or a recipe with --grid."),
                 grid: list[str] | None = SweepGridOpt,
                 seeds: int | None = typer.Option(None, "--seeds", min=1, max=16, help="With --sweep: runs per grid "
                                                  "point with different train.seed."),
                 max_parallel: int | None = typer.Option(None, "--max-parallel", help="With --sweep: at most this "
                                                         "many tasks at once."),
                 yes: bool = typer.Option(False, "--yes", "-y", help="With --sweep: allow more than 64 members."),
                 output: Path | None = typer.Option(None, "--output", "-o",  # noqa: B008
                                                    help="Write the script here (default: print it)."),
                 runs_dir: Path | None = RunsDir) -> None:
    """An sbatch script that runs RECIPE on several nodes (`srun` starts `reins run --run-id …` on each), or with
    --sweep a job array with one `reins run` per member of the sweep (requeued tasks resume their run)."""
    if sweep is not None:
        _export_sweep(sweep, recipe, overrides or [], grid, seeds, nodes, gpus_per_node, time_limit, partition,
                      port, max_parallel, yes, output, runs_dir)
        return
    if recipe is None:
        raise ReinsError("reins export slurm needs a RECIPE (with --nodes), or --sweep SWEEP for a job array.")
    used = [f for f, v in (("--grid", grid), ("--seeds", seeds), ("--max-parallel", max_parallel), ("--yes", yes))
            if v]
    if used:
        raise ReinsError(f"{', '.join(used)} {'goes' if len(used) == 1 else 'go'} only with --sweep (a job array "
                         "over a sweep's members).")
    if nodes is None:
        raise ReinsError("reins export slurm RECIPE needs --nodes (machines in the job).")
    text = api.slurm_script(recipe, overrides or [], nodes=nodes, gpus_per_node=gpus_per_node, time_limit=time_limit,
                            partition=partition, port=29500 if port is None else port, runs_dir=runs_dir,
                            output=output)
    if output is None:
        sys.stdout.write(text)
        return
    err.print(f"wrote {output}: submit it with `sbatch {output}`")


def _export_sweep(sweep: str, recipe: str | None, overrides: list[str], grid: list[str] | None, seeds: int | None,
                  nodes: int | None, gpus_per_node: int, time_limit: str, partition: str | None, port: int | None,
                  max_parallel: int | None, yes: bool, output: Path | None, runs_dir: Path | None) -> None:
    if recipe is not None:
        raise ReinsError(f"--sweep names what to run; drop {recipe!r} (a recipe to sweep goes to --sweep, with "
                         "--grid).")
    if nodes not in (None, 1) or port is not None:
        raise ReinsError("Each task of a sweep's job array runs on one node: --nodes and --port are for one run on "
                         "several nodes.")
    result = api.slurm_sweep_script(sweep, grid, seeds, overrides, gpus_per_node=gpus_per_node,
                                    time_limit=time_limit, partition=partition, max_parallel=max_parallel, yes=yes,
                                    runs_dir=runs_dir, output=output)
    for w in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    if output is None:
        sys.stdout.write(result.script)
    n = len(result.record["members"])
    sweep_id = result.record["id"]
    # soft_wrap: the paths and commands stay whole, to copy.
    err.print(f"sweep {sweep_id}: {n} member{'s' if n != 1 else ''}, one array task each; record {result.record_path}",
              highlight=False, soft_wrap=True)
    if output is not None:
        err.print(f"wrote {output}: submit it with `sbatch {output}`, then `reins sweep show {sweep_id}`",
                  highlight=False, soft_wrap=True)

"""The `reins` command line (typer): every command is one call into the engine API."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from engine import api
from engine.cli.render import estimate_table, live_view, progress_line, run_detail, runs_table
from engine.errors import ReinsError
from engine.runs.events import TERMINAL_STATUSES

app = typer.Typer(
    name="reins",
    help="Reins: align open language models (SFT, DPO and its variants) from the terminal. "
    "`reins` alone opens the TUI; `reins run dpo --wait` trains the bundled DPO demo; `reins ls` lists runs.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Piped output (scripts, logs) gets a wide fixed width so tables are never truncated at 80 columns.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

RunsDir = typer.Option(None, "--runs-dir", envvar="REINS_RUNS_DIR", help="Run store folder (default ./runs).")
JsonOut = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
SetOpt = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                      help="Override a recipe setting by dotted key, e.g. train.learning_rate=1e-5 (repeatable).")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _exit_for(status: str) -> int:
    return 0 if status == "completed" else 1


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


@app.command()
def recipes(as_json: bool = JsonOut) -> None:
    """List the bundled recipes with one line each on when to use them."""
    from engine.launching.pipeline import bundled_pipelines

    infos = api.list_recipes()
    pipes = bundled_pipelines()
    if as_json:
        _print_json([{"name": i.name, "method": i.method, "path": str(i.path), "description": i.description}
                     for i in infos]
                    + [{"name": n, "method": "pipeline", "path": str(p), "description": pipe.description,
                        "stages": [s.name for s in pipe.stages]} for n, p, pipe in pipes])
        return
    from rich.table import Table

    table = Table("recipe", "method", "when to use it", box=None, pad_edge=False)
    for i in infos:
        table.add_row(f"[bold]{i.name}[/]", i.method, i.description)
    for name, _, pipe in pipes:
        table.add_row(f"[bold]{name}[/]", " → ".join(s.name for s in pipe.stages), pipe.description)
    out.print(table)


@app.command()
def validate(recipe: str = typer.Argument(..., help="Bundled recipe name (e.g. dpo) or a YAML path."),
             overrides: list[str] | None = SetOpt, as_json: bool = JsonOut) -> None:
    """Check a recipe, its overrides, its model and its data; report every problem with its dotted path."""
    from engine.launching.preflight import preflight_warnings

    loaded = api.validate_recipe(recipe, overrides or [])
    r = loaded.recipe
    warnings = preflight_warnings(r)
    if as_json:
        _print_json({"ok": True, "source": str(loaded.source), "warnings": warnings,
                     "recipe": r.model_dump(mode="json")})
        return
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}")
    out.print(f"[green]OK[/] {loaded.source}: method {r.method.name}, model {r.model.name}, "
              f"{'LoRA r=' + str(r.lora.r) if r.lora else 'full fine-tuning'}, data {Path(r.data.train).name}")


@app.command()
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
        _print_json(est.to_dict())
        return
    out.print(estimate_table(est, explain=explain))


def _print_catalogue(as_json: bool) -> None:
    from engine.estimate.catalogue import CATALOGUE
    from engine.estimate.memory import Arch

    rows = [{"name": e.name, "params": Arch.from_config(e.config).params, "hub_ids": list(e.hub_ids)}
            for e in CATALOGUE.values()]
    if as_json:
        _print_json(rows)
        return
    for r in rows:
        out.print(f"{r['name']:<16} {r['params'] / 1e9:7.2f}B  {', '.join(r['hub_ids'])}", highlight=False)


@app.command()
def run(recipe: str = typer.Argument(..., help="Bundled recipe name (e.g. dpo) or a YAML path."),
        overrides: list[str] | None = SetOpt,
        name: str | None = typer.Option(None, "--name", help="A name for the run (part of its id)."),
        wait: bool = typer.Option(False, "--wait", help="Follow the run until it ends; exit 0 if it completed, "
                                  "1 otherwise."),
        gpu_memory: float | None = typer.Option(None, "--gpu-memory", help="GPU memory in GiB for the "
                                                   "estimate's verdict."),
        run_id: str | None = typer.Option(None, "--run-id", help="Use this run id (multi-node: the same on "
                                          "every node; machine rank 0 creates the run directory)."),
        runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Launch a training run (or a pipeline of runs) detached from this terminal; print where it lives."""
    from engine.launching.pipeline import find_pipeline

    pipeline_file = find_pipeline(recipe)
    if pipeline_file is not None:
        _run_pipeline(pipeline_file, name, runs_dir, wait, as_json)
        return
    view = api.launch(recipe, overrides or [], name=name, runs_dir=runs_dir, gpu_memory_gib=gpu_memory, run_id=run_id)
    for w in view.record.get("warnings", []):  # stderr, so also with --json
        err.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    if not as_json:
        err.print(f"[bold]launched[/] {view.id}  ({view.record.get('method')}, {view.record.get('model')})")
        err.print(f"  run directory: {view.dir.path}")
        err.print(f"  follow it:     reins watch {view.id}    stop it: reins stop {view.id}")
    if not wait:
        if as_json:
            _print_json(view.to_dict())
        return
    final = _follow(view.id, runs_dir, plain=as_json or not err.is_terminal)
    if as_json:
        _print_json(final.to_dict())
    else:
        out.print(run_detail(final))
    raise typer.Exit(_exit_for(final.status))


def _run_pipeline(path: Path, name: str | None, runs_dir: Path | None, wait: bool, as_json: bool) -> None:
    from engine.launching import pipeline
    from engine.paths import runs_dir as default_runs_dir

    root = default_runs_dir(runs_dir)
    record = pipeline.start(path, root, name)
    record_path = pipeline.pipelines_dir(root) / f"{record['id']}.json"
    if not as_json:
        err.print(f"[bold]pipeline[/] {record['id']}: " + " → ".join(s["name"] for s in record["stages"]))
        err.print(f"  record: {record_path}")
    if not wait:
        if as_json:
            _print_json(record)
        return

    def on_change(rec: dict[str, Any]) -> None:
        if not as_json:
            err.print("  " + "  ".join(f"{s['name']}: {s['status']}" + (f" ({s['run_id']})" if s["run_id"] else "")
                                       for s in rec["stages"]), highlight=False)

    final = pipeline.wait(record_path, on_change=on_change)
    if as_json:
        _print_json(final)
    else:
        err.print(f"pipeline {final['id']}: {final['status']}" + (f" — {final['error']}" if final.get("error") else ""))
    raise typer.Exit(_exit_for(final["status"]))


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


export_app = typer.Typer(help="Write files that run Reins elsewhere (e.g. a SLURM batch script).",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


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
    from engine.launching.slurm import SlurmJob, sbatch_script
    from engine.paths import runs_dir as default_runs_dir
    from engine.recipe.loading import load_recipe

    loaded = load_recipe(recipe, overrides or [])  # fail here, not on the cluster
    job = SlurmJob(nodes=nodes, gpus_per_node=gpus_per_node, time=time_limit, partition=partition, port=port,
                   job_name=f"reins-{loaded.name}")
    text = sbatch_script(str(loaded.source), overrides or [], job, default_runs_dir(runs_dir))
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text)
    output.chmod(0o755)
    err.print(f"wrote {output}: submit it with `sbatch {output}`")


@app.command("ls")
def ls(runs_dir: Path | None = RunsDir, as_json: bool = JsonOut,
       status: str | None = typer.Option(None, "--status", help="Only runs with this status.")) -> None:
    """List runs in the store, newest first."""
    views = api.list_runs(runs_dir)
    if status:
        views = [v for v in views if v.status == status]
    if as_json:
        _print_json([v.to_dict() for v in views])
        return
    if not views:
        err.print("No runs yet. Start one with `reins run dpo`.")
        return
    out.print(runs_table(views))


@app.command()
def show(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, or `latest`."),
         runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Show one run: settings, status, latest metrics, the estimate and measured memory."""
    view = api.get_run(run_ref, runs_dir)
    if as_json:
        data = view.to_dict()
        try:
            data["estimate"] = json.loads(view.dir.estimate.read_text())
        except (OSError, json.JSONDecodeError):
            data["estimate"] = None
        _print_json(data)
        return
    out.print(run_detail(view))


@app.command()
def watch(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, or `latest`."),
          runs_dir: Path | None = RunsDir) -> None:
    """Follow a run live until it ends (Ctrl-C stops watching, never the run)."""
    view = api.get_run(run_ref, runs_dir)
    try:
        final = _follow(view.id, runs_dir, plain=not err.is_terminal)
    except KeyboardInterrupt:
        err.print(f"stopped watching; the run goes on (reins watch {view.id})")
        raise typer.Exit(0) from None
    out.print(run_detail(final))
    raise typer.Exit(_exit_for(final.status))


@app.command()
def logs(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, or `latest`."),
         lines: int = typer.Option(50, "--lines", "-n", help="How many lines from the end."),
         follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new output until the run ends."),
         runs_dir: Path | None = RunsDir) -> None:
    """Print the worker's stdout/stderr log."""
    view = api.get_run(run_ref, runs_dir)
    path = view.dir.stdout
    if not path.exists():
        err.print(f"{path} does not exist yet.")
        return
    with open(path, "rb") as fh:
        data = fh.read()
    sys.stdout.write(b"\n".join(data.splitlines()[-lines:]).decode("utf-8", "replace") + "\n")
    if not follow:
        return
    offset = len(data)
    try:
        while True:
            with open(path, "rb") as fh:
                fh.seek(offset)
                new = fh.read()
            offset += len(new)
            sys.stdout.write(new.decode("utf-8", "replace"))
            sys.stdout.flush()
            if not new and api.get_run(view.id, runs_dir).status in TERMINAL_STATUSES:
                return
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


@app.command()
def stop(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, or `latest`."),
         timeout: float = typer.Option(120, "--timeout", help="Seconds to wait for the worker to save and stop."),
         runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Stop a run: the worker saves a checkpoint and ends as `stopped`."""
    before = api.get_run(run_ref, runs_dir)
    if before.status in TERMINAL_STATUSES:
        err.print(f"{before.id} already ended: {before.status}.")
    view = api.stop_run(run_ref, runs_dir, wait_s=timeout)
    if as_json:
        _print_json(view.to_dict())
    elif view.status in TERMINAL_STATUSES:
        err.print(f"{view.id}: {view.status}")
    else:
        err.print(f"{view.id}: still {view.status} after {timeout:g}s; it is saving a checkpoint — check again with "
                  f"`reins show {view.id}`.")


@app.command()
def resume(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, or `latest`."),
           dry_run: bool = typer.Option(False, "--dry-run", help="Only say what resuming would do."),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation on a terminal."),
           wait: bool = typer.Option(False, "--wait", help="Follow the run until it ends."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Continue a crashed, stopped or failed run from its newest checkpoint (same run, step counter continues)."""
    plan = api.plan_resume(run_ref, runs_dir)
    if as_json and dry_run:
        _print_json(plan.to_dict())
        return
    err.print(plan.describe(), highlight=False)
    if dry_run:
        return
    if not yes and sys.stdin.isatty() and not typer.confirm("Resume?", default=True, err=True):
        raise typer.Exit(1)
    view = api.resume_run(plan.run_id, runs_dir)
    err.print(f"[bold]resumed[/] {view.id} (attempt {plan.attempt})  follow it: reins watch {view.id}")
    if wait:
        view = _follow(view.id, runs_dir, plain=as_json or not err.is_terminal)
    if as_json:
        _print_json({**view.to_dict(), "resume": plan.to_dict()})
    elif wait:
        out.print(run_detail(view))
    if wait:
        raise typer.Exit(_exit_for(view.status))


@app.command()
def health(target: str = typer.Argument(..., metavar="RUN_OR_FILE", help="Run id/prefix/name, a run directory, an "
                                        "events.jsonl, or a TRL trainer_state.json (or a list of its log_history)."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Re-evaluate the red-flag rules over a run's metrics; exit 1 if any error-severity alert, 0 otherwise."""
    from engine.cli.render_health import health_view
    from engine.verdict.healthcheck import check

    result = check(target, runs_dir)
    if as_json:
        _print_json(result.to_dict())
    else:
        out.print(health_view(result))
    raise typer.Exit(result.exit_code)


@app.command()
def report(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, `latest`, or a run "
                                         "directory."),
           judge_url: str | None = typer.Option(None, "--judge-url", help="Judge the run's stored samples now "
                                                "with this OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."),
           judge_model: str | None = typer.Option(None, "--judge-model", help="Model name the judge endpoint serves."),
           judge_key_env: str | None = typer.Option(None, "--judge-key-env", help="Environment variable holding the "
                                                    "judge's API key."),
           judge_run: str | None = typer.Option(None, "--judge-run", help="Judge the stored samples now with a "
                                                "reward model: `run:<id>` of an rm run, or a local folder."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Write report.json + report.md in the run directory: held-out accuracy and margin before vs after, samples,
    win rate, perplexity, log-prob sanity, red flags."""
    from engine.verdict.report import write_report

    path = Path(run_ref)
    run_dir = path if (path / "events.jsonl").is_file() else api.get_run(run_ref, runs_dir).dir.path
    if judge_url or judge_model or judge_run:
        _rejudge(run_dir, judge_url, judge_model, judge_key_env, judge_run, runs_dir)
    rep = write_report(run_dir)
    if as_json:
        _print_json(rep.to_dict())
        return
    out.print((run_dir / "report.md").read_text(), markup=False, highlight=False)
    err.print(f"written: {run_dir / 'report.json'} and {run_dir / 'report.md'}")


def _rejudge(run_dir: Path, url: str | None, model: str | None, key_env: str | None, judge_run: str | None,
             runs_dir: Path | None) -> None:
    from pydantic import ValidationError

    from engine.paths import runs_dir as default_runs_dir
    from engine.recipe.model_refs import resolve_model
    from engine.recipe.schema import ChatJudge, RewardModelJudge
    from engine.verdict.rejudge import rejudge

    if judge_run and (url or model):
        raise typer.BadParameter("give either --judge-run or --judge-url with --judge-model, not both")
    if judge_run:
        root = default_runs_dir(runs_dir)
        ref = resolve_model(judge_run, root).ref  # a clear error now for a run or folder that is not there
        cfg: ChatJudge | RewardModelJudge = RewardModelJudge(kind="reward_model", model=ref)
    else:
        if not (url and model):
            raise typer.BadParameter("give both --judge-url and --judge-model")
        root = None
        try:
            cfg = ChatJudge(kind="openai", url=url, model=model, api_key_env=key_env)
        except ValidationError as exc:
            raise typer.BadParameter(f"--judge-url must start with http:// or https:// (got {url!r})") from exc
    result = rejudge(run_dir, cfg, root)
    err.print(f"judged {result['n']} samples with {cfg.model}: win rate {result['win_rate']:.3f}", highlight=False)


def main() -> None:
    """Console-script entry point: user mistakes print one paragraph and exit 2, never a traceback."""
    try:
        app()
    except ReinsError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)

"""`reins data synth`: synthetic preference pairs by system-prompt contrast or best-of-N, as a `generate` run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from engine import api
from engine.cli.options import JsonOut, RunsDir
from engine.cli.output import err, exit_for, print_json
from engine.cli.output import out as out_console
from engine.cli.render import progress_line, run_detail

PromptsArg = typer.Argument(..., help="Prompts file (.jsonl/.json/.parquet): `prompt` (text or messages) or "
                            "`messages`; a `category` picks the system prompts.")
OutArg = typer.Argument(..., help="Output .jsonl of preference pairs (TRL conversational format).")
SystemPromptsOpt = typer.Option(None, "--system-prompts", help="YAML of category: {good, degraded} replacing the "
                                "bundled pairs by name.")
USER_ERROR = 2  # the run failed on the user's input (an endpoint's refusal, a bad key): the CLI's exit code for it


def synth(prompts: Path = PromptsArg, out: Path = OutArg,
          mode: str = typer.Option("contrast", "--mode", help="contrast (good vs degraded system prompt) or "
                                   "best-of-n (N samples, judged; best vs worst)."),
          model: str | None = typer.Option(None, "--model", help="Local generator: smollm2-135m-instruct "
                                           "(default), a folder, a cached hub id or run:ID."),
          endpoint: str | None = typer.Option(None, "--endpoint", help="OpenAI-compatible base URL, e.g. "
                                              "http://127.0.0.1:8000/v1, as the generator."),
          endpoint_model: str | None = typer.Option(None, "--endpoint-model", help="Model name the endpoint serves."),
          api_key_env: str | None = typer.Option(None, "--api-key-env", help="Name of the env variable holding "
                                                 "the endpoint's API key."),
          system_prompts: Path | None = SystemPromptsOpt,
          good: str | None = typer.Option(None, "--good", help="The good system prompt, for every row."),
          degraded: str | None = typer.Option(None, "--degraded", help="The degraded system prompt, for every row."),
          n: int | None = typer.Option(None, "-n", "--n", help="best-of-n: samples per prompt (default 4)."),
          threshold: float | None = typer.Option(None, "--threshold", help="best-of-n: smallest win-share gap "
                                                 "between best and worst that makes a pair (default 0.5)."),
          judge: str | None = typer.Option(None, "--judge", help="best-of-n judge: run:ID (reward model run), "
                                           "rm:FOLDER, local:MODEL (chat model) or an endpoint URL."),
          judge_model: str | None = typer.Option(None, "--judge-model", help="Model name of an endpoint judge."),
          judge_key_env: str | None = typer.Option(None, "--judge-key-env", help="Env variable with the endpoint "
                                                   "judge's key."),
          seed: int | None = typer.Option(None, "--seed", help="Sampling seed (recorded in every row)."),
          max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", help="Answer length limit "
                                                    "(default 256)."),
          temperature: float | None = typer.Option(None, "--temperature", help="0 = greedy (contrast's "
                                                   "default); best-of-n samples at 0.8."),
          batch: int | None = typer.Option(None, "--batch", help="Prompts per batch (default 16)."),
          limit: int | None = typer.Option(None, "--limit", help="Only the first N prompt rows."),
          recipe: str | None = typer.Option(None, "--recipe", help="The recipe these pairs are for: warns when "
                                            "the generator is the model it aligns."),
          name: str | None = typer.Option(None, "--name", help="A name for the run (part of its id)."),
          detach: bool = typer.Option(False, "--detach", help="Return at once; follow with `reins watch RUN`."),
          runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Make preference pairs from prompts, as a run (listed in `reins ls`; `reins stop` / `reins resume`)."""
    view = api.start_synth(prompts, out, recipe=recipe, name=name, runs_dir=runs_dir, mode=mode, model=model,
                           endpoint=endpoint, endpoint_model=endpoint_model, api_key_env=api_key_env,
                           system_prompts=system_prompts, good=good, degraded=degraded, judge=judge,
                           judge_model=judge_model, judge_key_env=judge_key_env, n=n, threshold=threshold, seed=seed,
                           max_new_tokens=max_new_tokens, temperature=temperature, batch=batch, limit=limit)
    for w in view.record.get("warnings", []):
        err.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    rec = view.record
    err.print(f"[bold]launched[/] {view.id}  ({rec['settings']['mode']}, {escape(rec['model'])}) → {rec['output']}")
    err.print(f"  follow it: reins watch {view.id}    stop it: reins stop {view.id}    resume: reins resume "
              f"{view.id}")
    if detach:
        if as_json:
            print_json(view.to_dict())
        return

    def on_events(events: list[dict[str, Any]], _view: api.RunView) -> None:
        for e in events:
            line = progress_line(e, None)
            if line:
                err.print(escape(line), highlight=False, soft_wrap=True)

    final = api.wait_for(view.id, runs_dir, on_events=on_events)
    summary = final.record.get("synth") or {}
    if as_json:
        print_json(final.to_dict())
    elif summary:
        out_console.print(run_detail(api.run_details(final)))
    if final.status == "failed" and final.record.get("user_error"):
        err.print(f"[bold red]error:[/] {escape(str(final.to_dict().get('error') or ''))}", highlight=False)
        raise typer.Exit(USER_ERROR)
    raise typer.Exit(exit_for(final.status))

"""`reins export model` and `reins import llamafactory|axolotl`: a trained model out to other tools, other tools'
configs in as recipes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from engine import api
from engine.cli.options import JsonOut, RunRef, RunsDir
from engine.cli.output import err, out, print_json


def export_model(run_ref: str = RunRef,
                 output: Path = typer.Option(..., "--output", "-o", help="Folder to write (new or empty)."),  # noqa: B008
                 merge: bool = typer.Option(False, "--merge", help="Merge a LoRA adapter into its base (QLoRA: the "
                                            "unquantised base) and write a standalone model; without it the saved "
                                            "adapter or model is copied as it is."),
                 dtype: str | None = typer.Option(None, "--dtype", help="With --merge: bf16 (default), fp16 or fp32."),
                 runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Write a completed run's model to a folder other tools load (vLLM, llama.cpp's converters, transformers), with
    its tokenizer, chat template and a model card (README.md: recipe, data, metrics, the report's verdict)."""
    if merge:
        err.print("merging in a worker process (loads the base model)…", highlight=False)
    done = api.export_model(run_ref, output, merge=merge, dtype=dtype, runs_dir=runs_dir)
    if as_json:
        print_json(done.to_dict())
        return
    what = {"merged": f"LoRA merged into the base, {done.dtype}", "adapter": "the LoRA adapter (load it with PEFT)",
            "full": "the full model" + (f", {done.dtype}" if done.dtype else "")}[done.kind]
    out.print(f"[green]exported[/] {done.run} → {escape(str(done.output))}: {what}; model card "
              f"{escape(str(done.output / 'README.md'))}", highlight=False, soft_wrap=True)


import_app = typer.Typer(help="Turn another tool's training config into a Reins recipe.", no_args_is_help=True)
OutputOpt = typer.Option(None, "--output", "-o", help="Write the recipe here (default: print it on stdout).")


@import_app.command("llamafactory")
def import_llamafactory(file: Path = typer.Argument(..., help="A LLaMA-Factory training YAML (llamafactory-cli "  # noqa: B008
                                                    "train FILE)."),
                        output: Path | None = OutputOpt, as_json: bool = JsonOut) -> None:
    """A recipe from a LLaMA-Factory config (stages sft, rm, ppo, dpo with pref_loss sigmoid/hinge/ipo/orpo/simpo,
    kto), with a table of what mapped to what and every key with no Reins equivalent."""
    _import("llamafactory", file, output, as_json)


@import_app.command("axolotl")
def import_axolotl(file: Path = typer.Argument(..., help="An Axolotl config YAML (axolotl train FILE)."),  # noqa: B008
                   output: Path | None = OutputOpt, as_json: bool = JsonOut) -> None:
    """A recipe from an Axolotl config (SFT, reward_model, rl: dpo/ipo/orpo/kto/simpo), with a table of what
    mapped to what and every key with no Reins equivalent."""
    _import("axolotl", file, output, as_json)


def _import(tool: str, file: Path, output: Path | None, as_json: bool) -> None:
    done = api.import_config(tool, file, output)
    if as_json:
        print_json(done.to_dict())
        return
    from rich.table import Table

    mapped = Table("their key", "value", "Reins setting", "written", "note", box=None, pad_edge=False,
                   title="mapped", title_justify="left")
    for m in done.mapped:
        mapped.add_row(m.source, _short(m.value), m.target, _short(m.written), m.note)
    err.print(mapped)
    if done.unmapped:
        unmapped = Table("their key", "value", "why", box=None, pad_edge=False, title="no Reins equivalent (not "
                         "imported)", title_justify="left")
        for u in done.unmapped:
            unmapped.add_row(u.source, _short(u.value), u.why)
        err.print(unmapped)
    if done.empty:
        err.print(f"empty in the config (nothing to map): {', '.join(done.empty)}", highlight=False)
    if output is None:
        sys.stdout.write(done.text)
    else:
        err.print(f"wrote {escape(str(output))}: check it with `reins validate {escape(str(output))}`",
                  highlight=False, soft_wrap=True)


def _short(value: Any, limit: int = 48) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

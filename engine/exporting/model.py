"""`reins export model RUN -o DIR`: a finished run's model as a folder other tools load — the LoRA adapter merged
into its base (in a worker process: this one never imports torch) or copied as it is — with a model card."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ReinsError
from engine.exporting.card import model_card
from engine.runs.store import RunView
from engine.verdict.healthcheck import recipe_of
from engine.verdict.worker_call import call_worker

WORKER_MODULE = "engine.worker.export"
FAILURE_PREFIX = "[reins] export failed: "  # the worker's last word on what went wrong
DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}  # --dtype → the recipe's model.dtype names
DEFAULT_DTYPE = "bf16"
CARD = "README.md"


class ExportError(ReinsError):
    """The run cannot be exported as asked (not finished, no saved model, an occupied output folder)."""


@dataclass(frozen=True)
class ExportedModel:
    """What `export_model` wrote: the folder, what it holds (`merged`, `adapter` or `full`), its files."""

    run: str
    output: Path
    kind: str
    dtype: str | None
    files: list[str]
    worker: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "output": str(self.output), "kind": self.kind, "dtype": self.dtype,
                "files": self.files, "card": str(self.output / CARD), **self.worker}


def export_model(run: RunView, output: Path, merge: bool = False, dtype: str | None = None) -> ExportedModel:
    """Write `run`'s `final/` to `output`: merged into a standalone model in `dtype` (bf16 unless given) with
    `merge`, else copied as saved (a LoRA run's adapter, a full run's model), plus a model card."""
    if dtype is not None and not merge:
        raise ExportError("--dtype goes with --merge (without it the saved files are copied as they are).")
    if dtype is not None and dtype not in DTYPES:
        raise ExportError(f"Unknown --dtype {dtype!r}: choose {', '.join(DTYPES)}.")
    rd = run.dir
    if run.status != "completed":
        what = "has not finished" if not run.ended else "did not complete"
        raise ExportError(f"{run.id} {what} (status {run.status}): only a completed run has a final model to "
                          "export.")
    if not rd.final.is_dir():
        raise ExportError(f"{run.id} saved no trained model ({rd.final} is missing): there is nothing to export.")
    output = output.expanduser().resolve()
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ExportError(f"{output} already exists and is not an empty folder: export into a new folder.")
    adapter = (rd.final / "adapter_config.json").is_file()
    if merge and recipe_of(rd.path) is None:
        raise ExportError(f"{run.id} has no readable {rd.recipe.name}: cannot tell which base model to merge into.")
    output.parent.mkdir(parents=True, exist_ok=True)
    # written beside the target and renamed at the end, so a failed export leaves no half-written model folder
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.partial-"))
    try:
        worker: dict[str, Any] = {}
        if merge:
            chosen = dtype or DEFAULT_DTYPE
            worker = call_worker(WORKER_MODULE, {"run_dir": str(rd.path), "target": str(staging),
                                                 "dtype": DTYPES[chosen]},
                                 rd.export_log, FAILURE_PREFIX, "The export process")
            kind = "merged" if adapter else "full"
        else:
            chosen = None
            shutil.copytree(rd.final, staging, dirs_exist_ok=True)
            kind = "adapter" if adapter else "full"
        (staging / CARD).write_text(model_card(run, merge, chosen), encoding="utf-8")
        if output.exists():
            output.rmdir()  # empty, checked above
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportedModel(run.id, output, kind, chosen, sorted(p.name for p in output.iterdir()), worker)

"""The export process: `python -m engine.worker.export REQUEST_JSON` writes a finished run's model as a standalone
folder: a LoRA adapter merged into its base loaded unquantised in the requested dtype (QLoRA too), or a full
run's model saved again in that dtype, with the tokenizer and its chat template. The request (written by
engine.exporting.model) names the run, the target folder and the dtype; a summary goes to its `output` file. Any
failure ends with one `[reins] export failed:` line and exit code 1."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# Reins never downloads: make every hub lookup fail fast instead of hanging on a closed network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from engine.exporting.model import FAILURE_PREFIX  # noqa: E402
from engine.runs.rundir import RunDir  # noqa: E402
from engine.worker.request import serve_request  # noqa: E402


def export(request: dict[str, Any]) -> dict[str, Any]:
    """Load the run's model the way it trained (same base, `run:` references resolved from its store) but
    unquantised and in the requested dtype, merge the adapter, save it and the tokenizer."""
    from engine.recipe.methods import method_spec
    from engine.verdict.healthcheck import recipe_of
    from engine.worker.loading import load_model, load_tokenizer

    rd = RunDir(Path(request["run_dir"]))
    recipe = recipe_of(rd.path)
    if recipe is None:
        raise RuntimeError(f"{rd.path} has no readable recipe.yaml")
    # QLoRA trained against a quantized base; the merge goes into the full-precision weights of the same base
    model_settings = recipe.model.model_copy(update={"dtype": request["dtype"], "quantization": "none"})
    recipe = recipe.model_copy(update={"model": model_settings})
    task = method_spec(recipe.method.name).task
    runs_root = rd.path.parent  # where the worker resolved `run:<id>` models when it trained
    if (rd.final / "adapter_config.json").is_file():
        from peft import PeftModel

        base, tokenizer, _ = load_model(recipe, runs_root, task=task)
        model = PeftModel.from_pretrained(base, str(rd.final)).merge_and_unload()
    else:
        model, tokenizer, _ = load_model(recipe, runs_root, ref=str(rd.final), task=task)
    if (rd.final / "tokenizer_config.json").is_file():
        tokenizer = load_tokenizer(rd.final, recipe.model.trust_remote_code)  # as saved with the trained model
    target = Path(request["target"])
    model.save_pretrained(str(target), safe_serialization=True)
    tokenizer.save_pretrained(str(target))
    return {"parameters": sum(p.numel() for p in model.parameters()), "task": task,
            "chat_template": bool(getattr(tokenizer, "chat_template", None))}


def main(argv: list[str]) -> int:
    return serve_request(argv, "engine.worker.export", export, FAILURE_PREFIX)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

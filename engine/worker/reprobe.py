"""The capability probes' process: `python -m engine.worker.reprobe REQUEST_JSON` probes a finished run again.

The request (written by engine.verdict.reprobe) names the run; the reference is the recipe's base model, the policy
its `final/` output (a LoRA adapter on that base, or a full model). The probes' values and errors go to the request's
`output` file. Any failure ends with one `[reins] capability probes failed:` line and exit code 1."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Reins never downloads: make every hub lookup fail fast instead of hanging on a closed network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from engine.recipe.defaults import PROBE_SUITES  # noqa: E402
from engine.runs.rundir import RunDir  # noqa: E402
from engine.verdict.reprobe import FAILURE_PREFIX  # noqa: E402
from engine.worker.request import serve_request  # noqa: E402


def probe(request: dict[str, Any]) -> dict[str, Any]:
    """Load both models the way the run loaded its base (dtype, quantization) and run the probe parts; a part that
    fails is recorded under `errors`, as after training."""
    import torch

    from engine.verdict.healthcheck import recipe_of
    from engine.worker.loading import load_model, load_tokenizer
    from engine.worker.measuring import Models
    from engine.worker.posteval import _run_part
    from engine.worker.probing import capability_parts

    rd = RunDir(Path(request["run_dir"]))
    recipe = recipe_of(rd.path)
    if recipe is None:
        raise RuntimeError(f"{rd.path} has no readable recipe.yaml")
    if not recipe.report.probes:  # asked for explicitly: a recipe that turned them off still gets them now
        recipe = recipe.model_copy(update={"report": recipe.report.model_copy(update={"probes": list(PROBE_SUITES)})})
    runs_root = rd.path.parent  # where the worker resolved `run:<id>` models when it trained
    if (rd.final / "adapter_config.json").is_file():
        from peft import PeftModel

        base, tokenizer, _ = load_model(recipe, runs_root)
        policy = PeftModel.from_pretrained(base, str(rd.final))  # the reference is this with the adapter off
    else:
        policy, tokenizer, _ = load_model(recipe, runs_root, ref=str(rd.final))
    if (rd.final / "tokenizer_config.json").is_file():
        tokenizer = load_tokenizer(rd.final, recipe.model.trust_remote_code)  # as saved with the trained model
    if torch.cuda.is_available() and recipe.model.quantization == "none":
        policy = policy.to("cuda")  # quantized weights are placed on the GPU as they load
    models = Models(SimpleNamespace(model=policy), load_reference=lambda: load_model(recipe, runs_root)[0])
    values: dict[str, Any] = {"errors": {}}
    for name, part in capability_parts(recipe, models, tokenizer):
        _run_part(values, name, part)  # the same failure recording as after training
    return values


def main(argv: list[str]) -> int:
    return serve_request(argv, "engine.worker.reprobe", probe, FAILURE_PREFIX)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

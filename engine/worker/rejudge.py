"""The model judge's process: `python -m engine.worker.rejudge REQUEST_JSON` judges stored samples with a reward
model or a local chat model.

The request (written by engine.verdict.reward_scoring) names the judged run, the judge (its recipe section) and the
samples; the scores and winners go to the request's `output` file. Any failure ends with one `[reins] judge failed:`
line and exit code 1."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Reins never downloads: make every hub lookup fail fast instead of hanging on a closed network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from engine.verdict.reward_scoring import FAILURE_PREFIX  # noqa: E402
from engine.worker.request import serve_request  # noqa: E402


def score(request: dict) -> list[dict]:
    """Load the judge the way the judged run loads models (dtype, quantization) and judge every sample."""
    from pydantic import TypeAdapter

    from engine.recipe.schema import Judge
    from engine.verdict.healthcheck import recipe_of
    from engine.worker.loading import load_model
    from engine.worker.posteval import judge_with_model

    recipe = recipe_of(Path(request["run_dir"]))
    if recipe is None:
        raise RuntimeError(f"{request['run_dir']} has no readable recipe.yaml")
    runs_root = Path(request["runs_root"]) if request.get("runs_root") else None
    cfg = TypeAdapter(Judge).validate_python(request["judge"])
    samples = request["samples"]
    judge_with_model(cfg, samples, lambda ref, task: load_model(recipe, runs_root, ref=ref, task=task)[:2])
    return [{"scores": s.get("scores"), "winner": s["winner"]} for s in samples]


def main(argv: list[str]) -> int:
    return serve_request(argv, "engine.worker.rejudge", score, FAILURE_PREFIX)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""lm-evaluation-harness tasks on reference and policy, through its Python API, reading only the local cache."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from engine.recipe.schema import LmEvalSection
from engine.verdict.probes import compare_lm_eval
from engine.worker.measuring import Models

MISSING = ("lm_eval (lm-evaluation-harness) is not installed: `pip install lm-eval`; its tasks must already be in "
           "the local datasets cache — Reins never downloads")
OFFLINE_ENV = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")


class LmEvalMissing(RuntimeError):
    """lm-evaluation-harness is not importable in the worker's environment."""


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """The hub and datasets in offline mode, also when they were imported (and read the environment) earlier: the
    harness may then only read what is already cached."""
    saved = {k: os.environ.get(k) for k in OFFLINE_ENV}
    os.environ.update({k: "1" for k in OFFLINE_ENV})
    patched = []
    for module, attr in (("datasets.config", "HF_DATASETS_OFFLINE"), ("huggingface_hub.constants", "HF_HUB_OFFLINE")):
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, attr):
            patched.append((mod, attr, getattr(mod, attr)))
            setattr(mod, attr, True)
    try:
        yield
    finally:
        for mod, attr, value in patched:
            setattr(mod, attr, value)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_lm_eval(cfg: LmEvalSection, models: Models, tokenizer: Any) -> dict[str, Any]:
    """The tasks' main metric for both models and the change per task (engine.verdict.probes.compare_lm_eval)."""
    try:
        import lm_eval
        from lm_eval.models.huggingface import HFLM
    except ImportError:
        raise LmEvalMissing(MISSING) from None
    print(f"[reins] lm-evaluation-harness: {', '.join(cfg.tasks)} on reference then policy", flush=True)
    results: dict[str, Any] = {}
    with offline():
        for who, ctx in (("reference", models.reference), ("policy", models.trained)):
            with ctx() as model:
                lm = HFLM(pretrained=model, tokenizer=tokenizer)
                out = lm_eval.simple_evaluate(model=lm, tasks=list(cfg.tasks), limit=cfg.limit)
            results[who] = (out or {}).get("results") or {}
    compared = compare_lm_eval(results["reference"], results["policy"])
    if not compared:
        raise RuntimeError(f"lm-evaluation-harness returned no comparable metric for {', '.join(cfg.tasks)}")
    return compared

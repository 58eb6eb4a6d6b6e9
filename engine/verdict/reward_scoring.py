"""Judging stored samples with a model (a reward model or a local chat judge) in a worker process
(`python -m engine.worker.rejudge`), so the process that asks — the CLI, the TUI — never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from engine.errors import ReinsError
from engine.recipe.model_refs import resolve_model
from engine.recipe.schema import LocalJudge, RewardModelJudge
from engine.runs.rundir import RunDir

WORKER_MODULE = "engine.worker.rejudge"
FAILURE_PREFIX = "[reins] judge failed: "  # the worker's last word on what went wrong
LABEL = {"reward_model": "reward-model", "local": "local"}


class JudgeProcessError(ReinsError):
    """The judge's process failed (it could not load or run the model): not a mistake in the input."""

    exit_code = 1


def check_reward_model(cfg: RewardModelJudge, runs_root: Path | None) -> str:
    """The reward model's resolved reference, after checking it exists here and, when its config says what it
    is, that it is a sequence classifier (a causal LM would be scored by a random head). Raises ReinsError."""
    resolved = resolve_model(cfg.model, runs_root)
    if not resolved.is_adapter:
        try:
            archs = json.loads((resolved.path / "config.json").read_text()).get("architectures") or []
        except (OSError, ValueError, AttributeError):
            archs = []
        if archs and not any(str(a).endswith("ForSequenceClassification") for a in archs):
            raise ReinsError(f"{cfg.model} is a {archs[0]}, not a reward model (a sequence classifier such as a "
                             "`reins run rm` output): it cannot score answers.")
    return resolved.ref


def check_local_model(cfg: LocalJudge, runs_root: Path | None) -> str:
    """The local judge's resolved reference, after checking it exists here and is not a sequence classifier (a reward
    model has no next-token head to say "A" or "B"). Raises ReinsError."""
    resolved = resolve_model(cfg.model, runs_root)
    try:
        archs = [] if resolved.is_adapter else resolved.config().get("architectures") or []
    except ReinsError:
        archs = []  # the embedded model before its one-time conversion: a chat model
    if any(str(a).endswith("ForSequenceClassification") for a in archs):
        raise ReinsError(f"{cfg.model} is a {archs[0]}, a reward model: judge with it through --judge-run (kind "
                         "reward_model); a local judge must be a chat model.")
    return resolved.ref


def score_in_worker(rd: RunDir, cfg: RewardModelJudge | LocalJudge, samples: list[dict[str, Any]],
                    runs_root: Path | None) -> None:
    """Set each sample's `scores` and `winner` with the judge model, loaded in a child process that runs to its end
    while this one waits (loaded the way the run `rd` loads models). Its output goes to rd's rejudge.log; a failure
    raises JudgeProcessError."""
    with tempfile.TemporaryDirectory(prefix="reins-rejudge-") as tmp:
        request, answer = Path(tmp) / "request.json", Path(tmp) / "scores.json"
        request.write_text(json.dumps({
            "run_dir": str(rd.path), "judge": cfg.model_dump(), "runs_root": str(runs_root) if runs_root else None,
            "samples": samples, "output": str(answer),
        }, ensure_ascii=False))
        from engine.launching.secrets import worker_env

        env = {**worker_env(), "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
        with open(rd.rejudge_log, "wb") as log:
            proc = subprocess.run([sys.executable, "-m", WORKER_MODULE, str(request)], stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=subprocess.STDOUT, env=env, cwd=os.getcwd(), check=False)
        scored = _read_scores(answer) if proc.returncode == 0 else None
        if scored is None or len(scored) != len(samples):
            raise JudgeProcessError(f"The {LABEL[cfg.kind]} judge {cfg.model} failed (exit code {proc.returncode}): "
                                    f"{_failure(rd.rejudge_log)} Its full output is in {rd.rejudge_log}.")
    for sample, result in zip(samples, scored, strict=True):
        sample.pop("scores", None)
        sample.update({k: v for k, v in result.items() if k in ("scores", "winner") and v is not None})


def _read_scores(path: Path) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, list) and all(isinstance(d, dict) and "winner" in d for d in data) else None


def _failure(log: Path) -> str:
    """The worker's own account of its failure, else the last line it wrote."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "it left no output."
    said = [line[len(FAILURE_PREFIX):] for line in lines if line.startswith(FAILURE_PREFIX)]
    if said:
        return said[-1].rstrip(".") + "."
    return (lines[-1].rstrip(".") + ".") if lines else "it left no output."

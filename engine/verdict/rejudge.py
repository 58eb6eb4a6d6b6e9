"""`reins report RUN --judge-url … | --judge-run … | --judge-local …`: judge a finished run's stored samples after the
fact; and what `--against` shares with it: the judge options name, a finished run's samples, deciding with any judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import OptionError
from engine.recipe.schema import ChatJudge, LocalJudge, RewardModelJudge
from engine.runs.events import TERMINAL_STATUSES, EventWriter, read_all
from engine.runs.rundir import RunDir
from engine.verdict.healthcheck import recipe_of
from engine.verdict.judge import ChatJudgeClient, judge_result
from engine.verdict.report import ReportError, latest_samples

AnyJudge = ChatJudge | RewardModelJudge | LocalJudge


def judge_config(url: str | None = None, model: str | None = None, api_key_env: str | None = None,
                 reward_model: str | None = None, local: str | None = None) -> AnyJudge:
    """The judge that options name: a chat endpoint (`url` + `model`), a reward model or a local chat model.
    Raises OptionError."""
    named = [name for name, given in (("--judge-url/--judge-model", url or model), ("--judge-run", reward_model),
                                      ("--judge-local", local)) if given]
    if len(named) > 1:
        raise OptionError(f"give one judge, not {' and '.join(named)}")
    if reward_model:
        return RewardModelJudge(kind="reward_model", model=reward_model)
    if local:
        return LocalJudge(kind="local", model=local)
    if not (url and model):
        raise OptionError("give both --judge-url and --judge-model")
    try:
        return ChatJudge(kind="openai", url=url, model=model, api_key_env=api_key_env)
    except ValidationError:
        raise OptionError(f"--judge-url must start with http:// or https:// (got {url!r})") from None


def pinned(cfg: AnyJudge, runs_root: Path | None) -> AnyJudge:
    """The judge with its model checked to exist here and `run:<prefix>` pinned to the full id (a chat judge's model
    is an API name: nothing to check). Raises ReinsError."""
    from engine.verdict.reward_scoring import check_local_model, check_reward_model

    if isinstance(cfg, RewardModelJudge):
        return cfg.model_copy(update={"model": check_reward_model(cfg, runs_root)})
    if isinstance(cfg, LocalJudge):
        return cfg.model_copy(update={"model": check_local_model(cfg, runs_root)})
    return cfg


def finished_samples(rd: RunDir) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
    """A finished run's events, its last `evaluation` event and that evaluation's stored samples. Raises ReportError
    naming what is missing."""
    events = read_all(rd.events)
    statuses = [e.get("status") for e in events if e.get("kind") == "status"]
    if not statuses or statuses[-1] not in TERMINAL_STATUSES:
        raise ReportError(f"{rd.id} has not finished (status {statuses[-1] if statuses else 'unknown'}): "
                          "judge it once it has ended.")
    evaluations = [e for e in events if e.get("kind") == "evaluation"]
    if not evaluations:
        raise ReportError(f"{rd.id} has no post-training evaluation to judge (it did not complete, predates "
                          "it, or set report.enabled: false).")
    last = evaluations[-1]
    samples = latest_samples(events, last.get("step"))
    if not samples:
        raise ReportError(f"{rd.id} stored no generations (report.samples was 0 or there were no held-out "
                          "prompts): there is nothing to judge.")
    return events, last, samples


def decide(rd: RunDir, cfg: AnyJudge, samples: list[dict[str, Any]], runs_root: Path | None) -> None:
    """Set each sample's `winner` (and `scores` for a model judge): a chat endpoint is asked from this process, a
    model judges in a worker process loaded as the run `rd` loads models, so this process never imports torch."""
    if isinstance(cfg, ChatJudge):
        client = ChatJudgeClient(cfg)
        for s in samples:
            s["winner"] = client.judge(s["prompt"], s["policy"], s["reference"])
            s.pop("scores", None)  # a model judge's scores no longer explain this verdict
        return
    from engine.verdict.reward_scoring import score_in_worker

    if recipe_of(rd.path) is None:
        raise ReportError(f"{rd.id} has no readable {rd.recipe.name}: cannot tell how to load the judge model.")
    score_in_worker(rd, cfg, samples, runs_root)


def rejudge(run_dir: Path, cfg: AnyJudge, runs_root: Path | None = None) -> dict[str, Any]:
    """Judge the samples of the run's last evaluation and append the verdicts (new `sample` events and an updated
    `evaluation` event: the log stays append-only and the report reads the latest). Returns the judge's result.

    Everything a user can get wrong is checked first (exit 2); a model judge then runs in a worker process."""
    rd = RunDir(run_dir)
    cfg = pinned(cfg, runs_root)
    _, last, samples = finished_samples(rd)
    decide(rd, cfg, samples, runs_root)
    result = judge_result(cfg.kind, cfg.model, samples)
    values = dict(last.get("values") or {})
    values["judge"] = result
    errors = {k: v for k, v in (values.get("errors") or {}).items() if k != "judge"}
    values.pop("errors", None)
    if errors:
        values["errors"] = errors
    with EventWriter(rd.events) as writer:
        for s in samples:
            writer.write("sample", **s)
        writer.write("evaluation", step=last.get("step"), values=values)
    return result

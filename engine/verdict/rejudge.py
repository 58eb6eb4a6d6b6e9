"""`reins report RUN --judge-url … | --judge-run …`: judge a finished run's stored samples after the fact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import OptionError
from engine.recipe.schema import ChatJudge, RewardModelJudge
from engine.runs.events import TERMINAL_STATUSES, EventWriter, read_all
from engine.runs.rundir import RunDir
from engine.verdict.healthcheck import recipe_of
from engine.verdict.judge import ChatJudgeClient, tally
from engine.verdict.report import ReportError, latest_samples


def judge_config(url: str | None = None, model: str | None = None, api_key_env: str | None = None,
                 reward_model: str | None = None) -> ChatJudge | RewardModelJudge:
    """The judge that options name: a chat endpoint (`url` + `model`) or a reward model. Raises OptionError."""
    if reward_model and (url or model):
        raise OptionError("give either --judge-run or --judge-url with --judge-model, not both")
    if reward_model:
        return RewardModelJudge(kind="reward_model", model=reward_model)
    if not (url and model):
        raise OptionError("give both --judge-url and --judge-model")
    try:
        return ChatJudge(kind="openai", url=url, model=model, api_key_env=api_key_env)
    except ValidationError:
        raise OptionError(f"--judge-url must start with http:// or https:// (got {url!r})") from None


def rejudge(run_dir: Path, cfg: ChatJudge | RewardModelJudge, runs_root: Path | None = None) -> dict[str, Any]:
    """Judge the samples of the run's last evaluation and append the verdicts (new `sample` events and an updated
    `evaluation` event: the log stays append-only and the report reads the latest). Returns the tally.

    Everything a user can get wrong is checked here first (exit 2); a reward model then scores in a worker process,
    so this process never loads torch."""
    rd = RunDir(run_dir)
    if isinstance(cfg, RewardModelJudge):
        from engine.verdict.reward_scoring import check_reward_model

        cfg = cfg.model_copy(update={"model": check_reward_model(cfg, runs_root)})  # `run:<prefix>` → full id
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
    if isinstance(cfg, ChatJudge):
        client = ChatJudgeClient(cfg)
        for s in samples:
            s["winner"] = client.judge(s["prompt"], s["policy"], s["reference"])
            s.pop("scores", None)  # a reward model's scores no longer explain this verdict
    else:
        from engine.verdict.reward_scoring import score_in_worker

        if recipe_of(rd.path) is None:
            raise ReportError(f"{rd.id} has no readable {rd.recipe.name}: cannot tell how to load the reward model.")
        score_in_worker(rd, cfg, samples, runs_root)
    result = {"kind": cfg.kind, "model": cfg.model, **tally([s["winner"] for s in samples]).to_dict()}
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

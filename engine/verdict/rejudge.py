"""`reins report RUN --judge-url … | --judge-run …`: judge a finished run's stored samples after the fact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.recipe.schema import ChatJudge, RewardModelJudge
from engine.runs.events import TERMINAL_STATUSES, EventWriter, read_all
from engine.verdict.healthcheck import recipe_of
from engine.verdict.judge import ChatJudgeClient, tally
from engine.verdict.report import ReportError, latest_samples


def rejudge(run_dir: Path, cfg: ChatJudge | RewardModelJudge, runs_root: Path | None = None) -> dict[str, Any]:
    """Judge the samples of the run's last evaluation and append the verdicts (new `sample` events and an updated
    `evaluation` event: the log stays append-only and the report reads the latest). Returns the tally."""
    path = run_dir / "events.jsonl"
    events = read_all(path)
    statuses = [e.get("status") for e in events if e.get("kind") == "status"]
    if not statuses or statuses[-1] not in TERMINAL_STATUSES:
        raise ReportError(f"{run_dir.name} has not finished (status {statuses[-1] if statuses else 'unknown'}): "
                          "judge it once it has ended.")
    evaluations = [e for e in events if e.get("kind") == "evaluation"]
    if not evaluations:
        raise ReportError(f"{run_dir.name} has no post-training evaluation to judge (it did not complete, predates "
                          "it, or set report.enabled: false).")
    last = evaluations[-1]
    samples = latest_samples(events, last.get("step"))
    if not samples:
        raise ReportError(f"{run_dir.name} stored no generations (report.samples was 0 or there were no held-out "
                          "prompts): there is nothing to judge.")
    if isinstance(cfg, ChatJudge):
        client = ChatJudgeClient(cfg)
        for s in samples:
            s["winner"] = client.judge(s["prompt"], s["policy"], s["reference"])
            s.pop("scores", None)  # a reward model's scores no longer explain this verdict
    else:
        _score(run_dir, cfg, samples, runs_root)
    result = {"kind": cfg.kind, "model": cfg.model, **tally([s["winner"] for s in samples]).to_dict()}
    values = dict(last.get("values") or {})
    values["judge"] = result
    errors = {k: v for k, v in (values.get("errors") or {}).items() if k != "judge"}
    values.pop("errors", None)
    if errors:
        values["errors"] = errors
    with EventWriter(path) as writer:
        for s in samples:
            writer.write("sample", **s)
        writer.write("evaluation", step=last.get("step"), values=values)
    return result


def _score(run_dir: Path, cfg: RewardModelJudge, samples: list[dict[str, Any]], runs_root: Path | None) -> None:
    # Training libraries load only here, and only for a reward-model judge.
    from engine.worker.loading import load_model
    from engine.worker.posteval import score_with_reward_model

    recipe = recipe_of(run_dir)
    if recipe is None:
        raise ReportError(f"{run_dir.name} has no readable recipe.yaml: cannot tell how to load the reward model.")
    model, tokenizer, _ = load_model(recipe, runs_root, ref=cfg.model, task="seq-cls")
    score_with_reward_model(model, tokenizer, samples, cfg.tie_margin)

"""`reins report A --against B`: two finished runs judged on the prompts both answered, A's policy answer against
B's, in both orders; the result is stored in A's run folder as a `head_to_head` event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.runs.events import EventWriter
from engine.runs.rundir import RunDir
from engine.verdict.healthcheck import recipe_of
from engine.verdict.judge import judge_result
from engine.verdict.judge_data import same_data
from engine.verdict.rejudge import AnyJudge, decide, finished_samples, pinned
from engine.verdict.report import ReportError


def matched_pairs(ours: list[dict[str, Any]], theirs: list[dict[str, Any]],
                  same_tokenizer: bool) -> list[dict[str, Any]]:
    """One pair per prompt both runs answered (matched by prompt text, in A's order): A's answer as `policy`, B's as
    `reference`, so every judge and tally reads it unchanged. Token counts travel only when both runs count in the
    same tokenizer; otherwise lengths fall back to words."""
    by_prompt: dict[str, dict[str, Any]] = {}
    for s in theirs:
        by_prompt.setdefault(str(s.get("prompt")), s)
    pairs, seen = [], set()
    for s in ours:
        prompt = str(s.get("prompt"))
        other = by_prompt.get(prompt)
        if other is None or prompt in seen:
            continue
        seen.add(prompt)
        pair = {"prompt": prompt, "policy": str(s.get("policy", "")), "reference": str(other.get("policy", ""))}
        if s.get("messages"):
            pair["messages"] = s["messages"]  # a reward model scores chat prompts in their chat format
        a_tokens, b_tokens = (s.get("tokens") or {}).get("policy"), (other.get("tokens") or {}).get("policy")
        if same_tokenizer and isinstance(a_tokens, int) and isinstance(b_tokens, int):
            pair["tokens"] = {"policy": a_tokens, "reference": b_tokens}
        pairs.append(pair)
    return pairs


def judge_of(run_dir: Path) -> AnyJudge:
    """The judge A's recipe names in `report.judge`; a ReportError when it names none."""
    recipe = recipe_of(run_dir)
    judge = recipe.report.judge if recipe is not None else None
    if judge is None:
        raise ReportError(f"{RunDir(run_dir).id} names no judge (report.judge): give one with --judge-run, "
                          "--judge-local, or --judge-url with --judge-model.")
    return judge


def head_to_head(run_a: Path, run_b: Path, cfg: AnyJudge | None, runs_root: Path | None) -> dict[str, Any]:
    """Judge A's answers against B's on their common prompts and append the result to A's events. Returns it.
    Raises ReportError (exit 2) when B is A, either has not finished or stored no samples, or no prompt is shared."""
    a, b = RunDir(run_a), RunDir(run_b)
    if a.path.resolve() == b.path.resolve():
        raise ReportError(f"--against names {a.id} itself: compare it with another run.")
    cfg = pinned(cfg if cfg is not None else judge_of(a.path), runs_root)
    _, _, ours = finished_samples(a)
    _, _, theirs = finished_samples(b)
    pairs = matched_pairs(ours, theirs, a.read().get("model") == b.read().get("model"))
    if not pairs:
        raise ReportError(f"{a.id} and {b.id} have no prompt in common among their stored samples ({len(ours)} and "
                          f"{len(theirs)}): compare runs evaluated on the same held-out prompts.")
    decide(a, cfg, pairs, runs_root)
    judge = judge_result(cfg.kind, cfg.model, pairs)
    if same_data(cfg.model, a.path, runs_root) or same_data(cfg.model, b.path, runs_root):
        judge["same_data"] = True
    fields = {"against": b.id, "judge": judge, "prompts": {"matched": len(pairs), "run": len(ours),
                                                            "against": len(theirs)},
              "verdicts": [{"prompt": p["prompt"], "winner": p["winner"], **({"scores": p["scores"]}
                                                                           if p.get("scores") else {})}
                           for p in pairs]}
    with EventWriter(a.events) as writer:
        writer.write("head_to_head", **fields)
    return {"run": a.id, **fields}

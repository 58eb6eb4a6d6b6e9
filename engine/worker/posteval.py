"""After training: reference vs policy answers, pair log-probs, perplexity on plain text, and the judge's verdicts."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from engine.data.reading import load_records
from engine.data.text import prompt_text, prompts_of
from engine.paths import BUNDLED_RECIPES
from engine.recipe.schema import ChatJudge, LocalJudge, Recipe, ReportSection, RewardModelJudge
from engine.runs.events import EventWriter
from engine.verdict.judge import ChatJudgeClient, by_score, judge_result
from engine.worker.checkpoint_eval import evaluate_checkpoints
from engine.worker.local_judge import judge_samples
from engine.worker.measuring import (
    Models,
    answer_tokens,
    device_of,
    eval_mode,
    generate,
    pair_ids,
    pair_sequences,
    perplexity,
    score_pairs,
)
from engine.worker.probing import capability_parts

JudgeLoader = Callable[[str, str], tuple[Any, Any]]  # (model reference, "causal" or "seq-cls") → model, tokenizer

DEFAULT_TEXTS = BUNDLED_RECIPES / "data" / "plaintext.eval.jsonl"
def _log(message: str) -> None:
    print(f"[reins] post-training evaluation: {message}", flush=True)


def evaluate_after_training(recipe: Recipe, models: Models, tokenizer: Any, held_out: Sequence[dict[str, Any]],
                            writer: EventWriter, step: int, load_judge_model: JudgeLoader) -> dict[str, Any]:
    """Measure, write `sample` events and one `evaluation` event, and return its values. A part that fails is
    recorded under `errors` and the others still run: training already succeeded and its outputs are saved."""
    cfg = recipe.report
    values: dict[str, Any] = {"errors": {}}
    t0 = time.perf_counter()
    prompts = prompts_of(held_out)[: cfg.samples]

    def phase(detail: str) -> None:  # `watch`, `run --wait` and the TUI show the latest one while the steps are done
        writer.write("phase", step=step, name="post-training evaluation", detail=detail)

    phase(f"{len(prompts)} prompts, pairs, perplexity" + (", judge" if cfg.judge else "")
          + (", probes" if cfg.probes else "")
          + (", lm-eval" if cfg.lm_eval else "") + (", checkpoints" if cfg.checkpoints else ""))
    samples: list[dict[str, Any]] = []
    if cfg.samples and not prompts:
        values["errors"]["samples"] = "no held-out prompts: set data.eval to get side-by-side generations"
    if prompts:
        _run_part(values, "samples", lambda: samples.extend(_samples(models, tokenizer, prompts, cfg,
                                                                     recipe.train.seed, phase)))
    pairs = [r for r in held_out if "chosen" in r and "rejected" in r][: cfg.pairs]
    if pairs:
        phase(f"{len(pairs)} held-out pairs: log-probs of reference and policy")
        _run_part(values, "preference", lambda: _preference(models, tokenizer, pairs, recipe.train.max_length))
    if cfg.perplexity_texts:
        phase("perplexity on plain text")
        _run_part(values, "perplexity", lambda: _perplexity(models, tokenizer, recipe))
    if cfg.judge is not None and samples:
        phase(f"judging {len(samples)} answer pairs ({cfg.judge.kind})")
        _run_part(values, "judge", lambda: _judge(cfg.judge, samples, load_judge_model))
    for name, part in capability_parts(recipe, models, tokenizer, writer, step):
        _run_part(values, name, part)
    if cfg.checkpoints:  # last: it swaps the policy's weights, so nothing else can measure a half-restored model
        _run_part(values, "checkpoints", lambda: evaluate_checkpoints(models, tokenizer, pairs, recipe, writer, step))
    for i, s in enumerate(samples):
        writer.write("sample", step=step, index=i, **s)
    values["samples"] = len(samples)
    values["seconds"] = round(time.perf_counter() - t0, 2)
    if not values["errors"]:
        del values["errors"]
    writer.write("evaluation", step=step, values=values)
    return values


def _run_part(values: dict[str, Any], name: str, part: Callable[[], Any]) -> None:
    t0 = time.perf_counter()
    try:
        result = part()
    except Exception as exc:  # noqa: BLE001 - one failed measurement must not cost the others
        values["errors"][name] = f"{exc.__class__.__name__}: {exc}"
        _log(f"{name} failed: {values['errors'][name]}")
        return
    finally:  # what each part cost, so a slow evaluation says where its time went
        values.setdefault("timings", {})[name] = round(time.perf_counter() - t0, 2)
    if result is not None:
        values[name] = result


def _samples(models: Models, tokenizer: Any, prompts: list[Any], cfg: ReportSection, seed: int,
             phase: Callable[[str], None]) -> list[dict[str, Any]]:
    _log(f"{len(prompts)} held-out prompts, greedy, up to {cfg.max_new_tokens} new tokens, reference then policy")
    answers: dict[str, list[str]] = {}
    for who, ctx in (("reference", models.reference), ("policy", models.trained)):
        with ctx() as model:
            answers[who] = generate(model, tokenizer, prompts, cfg.max_new_tokens, seed, cfg.batch_size,
                                    progress=lambda done, total, who=who: phase(f"{who} answers {done}/{total}"))
    tokens = {who: answer_tokens(tokenizer, texts) for who, texts in answers.items()}
    # `messages` keeps a conversational prompt as given, so a reward model can judge later in the same chat format
    return [{"prompt": prompt_text(p), "reference": answers["reference"][i], "policy": answers["policy"][i],
             "winner": None, "tokens": {"reference": tokens["reference"][i], "policy": tokens["policy"][i]},
             **({"messages": p} if isinstance(p, list) else {})}
            for i, p in enumerate(prompts)]


def _preference(models: Models, tokenizer: Any, pairs: list[dict[str, Any]], max_length: int) -> dict[str, Any]:
    _log(f"{len(pairs)} held-out pairs scored by reference and policy log-probs")
    chosen_rejected = pair_sequences(tokenizer, pairs, max_length)
    out: dict[str, Any] = {"pairs": len(chosen_rejected) // 2}
    for name, ctx in (("reference", models.reference), ("policy", models.trained)):
        with ctx() as model:
            out[name] = score_pairs(model, tokenizer, chosen_rejected)
    return out


def _perplexity(models: Models, tokenizer: Any, recipe: Recipe) -> dict[str, Any]:
    cfg = recipe.report
    source = cfg.perplexity_data or str(DEFAULT_TEXTS)
    texts = [str(r["text"]) for r in load_records(source, "train") if r.get("text")][: cfg.perplexity_texts]
    if not texts:
        raise ValueError(f"{source} has no rows with a `text` field")
    _log(f"perplexity of reference and policy on {len(texts)} plain texts")
    with models.reference() as ref:
        ppl_ref, tokens = perplexity(ref, tokenizer, texts, recipe.train.max_length)
    with models.trained() as pol:
        ppl_pol, _ = perplexity(pol, tokenizer, texts, recipe.train.max_length)
    out = {"source": source, "texts": len(texts), "tokens": tokens, "max_increase_pct": cfg.max_perplexity_increase}
    if not (math.isfinite(ppl_ref) and math.isfinite(ppl_pol)):
        # NaN/inf: the weights diverged (or the text overflows fp16); that is a regression, and no ratio exists
        return {**out, "reference": _finite_or_none(ppl_ref), "policy": _finite_or_none(ppl_pol), "change_pct": None,
                "regressed": not math.isfinite(ppl_pol), "note": "perplexity is not finite: the weights diverged"}
    change = 100 * (ppl_pol / ppl_ref - 1)
    return {**out, "reference": round(ppl_ref, 4), "policy": round(ppl_pol, 4), "change_pct": round(change, 2),
            "regressed": change > cfg.max_perplexity_increase}


def _finite_or_none(v: float) -> float | None:
    return round(v, 4) if math.isfinite(v) else None


def _judge(cfg: RewardModelJudge | ChatJudge | LocalJudge, samples: list[dict[str, Any]],
           load_judge_model: JudgeLoader) -> dict[str, Any]:
    _log(f"judging {len(samples)} pairs of answers with {cfg.kind} {cfg.model}")
    if isinstance(cfg, ChatJudge):
        client = ChatJudgeClient(cfg)
        for s in samples:
            s["winner"] = client.judge(s["prompt"], s["policy"], s["reference"])
    else:
        judge_with_model(cfg, samples, load_judge_model)
    return judge_result(cfg.kind, cfg.model, samples)


def judge_with_model(cfg: RewardModelJudge | LocalJudge, samples: list[dict[str, Any]], load: JudgeLoader) -> None:
    """Set each sample's `winner` and `scores` with a judge that is a model: a reward model or a local chat model."""
    if isinstance(cfg, LocalJudge):
        model, tok = load(cfg.model, "causal")
        judge_samples(model, tok, samples, cfg.max_length)
    else:
        model, tok = load(cfg.model, "seq-cls")
        score_with_reward_model(model, tok, samples, cfg.tie_margin)


def score_with_reward_model(model: Any, tokenizer: Any, samples: list[dict[str, Any]], tie_margin: float) -> None:
    """Set each sample's `scores` and `winner` from a reward model's scalar for (prompt, answer)."""
    with eval_mode(model), torch.no_grad():
        for s in samples:
            prompt = s.get("messages") or s["prompt"]
            if isinstance(prompt, str) and getattr(tokenizer, "chat_template", None):
                prompt = [{"role": "user", "content": prompt}]  # score in the chat format the RM was trained on
            scores = [_reward(model, tokenizer, prompt, s[who]) for who in ("policy", "reference")]
            s["scores"] = {"policy": round(scores[0], 4), "reference": round(scores[1], 4)}
            s["winner"] = by_score(scores[0], scores[1], tie_margin)


def _reward(model: Any, tokenizer: Any, prompt: Any, answer: str) -> float:
    completion = [{"role": "assistant", "content": answer}] if isinstance(prompt, list) else answer
    ids, _ = pair_ids(tokenizer, prompt, completion)
    return float(model(input_ids=torch.tensor([ids], device=device_of(model))).logits[0, 0])

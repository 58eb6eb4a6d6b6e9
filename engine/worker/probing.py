"""Capability probes on reference and policy: greedy answers scored by the suites' checks, knowledge by option
log-likelihood."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.recipe.schema import Recipe
from engine.runs.events import EventWriter
from engine.verdict.probes import ANSWER_SCORERS, SCORED_BY_LIKELIHOOD, load_suite, probe_result, score_choice
from engine.worker.lm_eval_probe import run_lm_eval
from engine.worker.measuring import Models, generate, pair_ids, token_logps

PHASE = "capability probes"


def capability_parts(recipe: Recipe, models: Models, tokenizer: Any, writer: EventWriter | None = None,
                     step: int | None = None) -> list[tuple[str, Callable[[], Any]]]:
    """The capability probes and lm-evaluation-harness as named parts (each may fail alone), when configured."""
    cfg = recipe.report
    parts: list[tuple[str, Callable[[], Any]]] = []
    if cfg.probes:
        parts.append(("probes", lambda: run_probes(recipe, models, tokenizer, writer, step)))
    if cfg.lm_eval is not None:
        lm_cfg = cfg.lm_eval
        parts.append(("lm_eval", lambda: run_lm_eval(lm_cfg, models, tokenizer)))
    return parts


def run_probes(recipe: Recipe, models: Models, tokenizer: Any, writer: EventWriter | None = None,
               step: int | None = None) -> dict[str, Any]:
    """Every suite the recipe names, scored per item for both models: {suite: paired result with its items}."""
    cfg = recipe.report
    out: dict[str, Any] = {}
    for done, name in enumerate(cfg.probes):
        items = load_suite(name, cfg.probe_items)
        if writer is not None:
            writer.write("phase", step=step, name=PHASE, detail=f"{name} ({len(items)} items), suite {done + 1} of "
                         f"{len(cfg.probes)}")
        print(f"[reins] capability probe {name}: {len(items)} items, reference then policy", flush=True)
        if name in SCORED_BY_LIKELIHOOD:
            scores = {who: _choices(ctx, tokenizer, items, recipe.train.max_length) for who, ctx in _sides(models)}
        else:
            score = ANSWER_SCORERS[name]
            prompts = [item["prompt"] for item in items]
            scores = {}
            for who, ctx in _sides(models):
                with ctx() as model:
                    answers = generate(model, tokenizer, prompts, cfg.probes_max_new_tokens, recipe.train.seed,
                                       cfg.batch_size)
                scores[who] = [score(a, item) for a, item in zip(answers, items, strict=True)]
        out[name] = probe_result(list(zip(scores["reference"], scores["policy"], strict=True)))
    return out


def _sides(models: Models) -> tuple[tuple[str, Callable[[], Any]], ...]:
    return ("reference", models.reference), ("policy", models.trained)


def _choices(ctx: Callable[[], Any], tokenizer: Any, items: list[dict[str, Any]], max_length: int) -> list[int]:
    """Per item, 1 when the option with the highest mean log-prob per token after the question is the right one
    (per token, so a long option is not penalised for its length)."""
    seqs, spans = [], []
    for item in items:
        spans.append((len(seqs), len(item["choices"])))
        for option in item["choices"]:
            ids, start = pair_ids(tokenizer, item["prompt"], str(option))
            seqs.append((ids[:max_length], start))
    with ctx() as model:
        logps = token_logps(model, tokenizer, seqs)
    means = [s / n if n else float("-inf") for s, n in logps]
    return [score_choice(means[first: first + count], item) for (first, count), item in zip(spans, items, strict=True)]

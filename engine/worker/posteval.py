"""After training: reference vs policy answers, pair log-probs, perplexity on plain text, and the judge's verdicts."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from engine.paths import BUNDLED_RECIPES
from engine.recipe.data import load_records
from engine.recipe.schema import ChatJudge, Recipe, RewardModelJudge
from engine.runs.events import EventWriter
from engine.verdict.judge import ChatJudgeClient, by_score, tally

DEFAULT_TEXTS = BUNDLED_RECIPES / "data" / "plaintext.eval.jsonl"
BATCH = 8


def _ids(out: Any) -> list[int]:
    return list(out["input_ids"] if hasattr(out, "keys") else out)  # transformers 5 returns a BatchEncoding


def prompt_text(prompt: Any) -> str:
    """A prompt as a reader sees it: the user's words, or `role: content` lines for a longer conversation."""
    if isinstance(prompt, str):
        return prompt
    if len(prompt) == 1:
        return str(prompt[0]["content"])
    return "\n".join(f"{m['role']}: {m['content']}" for m in prompt)


def answer_text(completion: Any) -> str:
    return completion if isinstance(completion, str) else "\n".join(str(m["content"]) for m in completion)


def prompt_ids(tokenizer: Any, prompt: Any) -> list[int]:
    if isinstance(prompt, list):
        return _ids(tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True))
    return _ids(tokenizer(prompt))


def pair_ids(tokenizer: Any, prompt: Any, completion: Any) -> tuple[list[int], int]:
    """Token ids of prompt + completion, and where the completion starts."""
    head = prompt_ids(tokenizer, prompt)
    if isinstance(prompt, list) and isinstance(completion, list):
        full = _ids(tokenizer.apply_chat_template(prompt + completion, tokenize=True))
        if full[: len(head)] == head:
            return full, len(head)
    return head + _ids(tokenizer(answer_text(completion), add_special_tokens=False)), len(head)


def prompts_of(rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The held-out prompts, whatever the data's shape (prompt column, or a conversation minus its last answer)."""
    out = []
    for row in rows:
        if "prompt" in row:
            out.append(row["prompt"])
        elif "messages" in row and len(row["messages"]) > 1 and row["messages"][-1]["role"] == "assistant":
            out.append(row["messages"][:-1])
    return out


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def generate(model: Any, tokenizer: Any, prompts: Sequence[Any], max_new_tokens: int, seed: int) -> list[str]:
    """Greedy answers (deterministic; the seed only matters for kernels with nondeterministic ties)."""
    torch.manual_seed(seed)
    side, tokenizer.padding_side = tokenizer.padding_side, "left"  # decoder-only models continue on the right
    answers: list[str] = []
    try:
        for i in range(0, len(prompts), BATCH):
            batch = [prompt_ids(tokenizer, p) for p in prompts[i: i + BATCH]]
            enc = tokenizer.pad({"input_ids": batch}, return_tensors="pt").to(_device(model))
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                                 pad_token_id=tokenizer.pad_token_id)
            answers += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
    return [a.strip() for a in answers]


@torch.no_grad()
def token_logps(model: Any, tokenizer: Any, seqs: Sequence[tuple[list[int], int]]) -> list[tuple[float, int]]:
    """Per sequence: the summed log-prob of its tokens from `start` on, and how many tokens that is."""
    out: list[tuple[float, int]] = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for i in range(0, len(seqs), BATCH):
        chunk = seqs[i: i + BATCH]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        scored = torch.zeros((len(chunk), width), dtype=torch.bool)
        for j, (seq, start) in enumerate(chunk):
            ids[j, : len(seq)] = torch.tensor(seq)
            mask[j, : len(seq)] = 1
            scored[j, max(1, start): len(seq)] = True  # token 0 has no context to be predicted from
        dev = _device(model)
        logits = model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None].to(dev)).squeeze(-1)
        keep = scored[:, 1:].to(dev)
        sums = (logp * keep).sum(-1)
        out += [(float(s), int(n)) for s, n in zip(sums.cpu(), keep.sum(-1).cpu(), strict=True)]
    return out


def pair_figures(logps: Sequence[tuple[tuple[float, int], tuple[float, int]]]) -> dict[str, float]:
    """How often the model prefers the chosen answer: by summed log-prob and by log-prob per token."""
    n = len(logps)
    margins = [c - r for (c, _), (r, _) in logps]
    per_token = [c / max(nc, 1) - r / max(nr, 1) for (c, nc), (r, nr) in logps]
    return {"accuracy": round(sum(m > 0 for m in margins) / n, 4), "margin": round(sum(margins) / n, 4),
            "accuracy_per_token": round(sum(m > 0 for m in per_token) / n, 4),
            "margin_per_token": round(sum(per_token) / n, 4),
            "logps_chosen": round(sum(c for (c, _), _ in logps) / n, 3),
            "logps_rejected": round(sum(r for _, (r, _) in logps) / n, 3),
            # the spread, not just the mean: a few collapsed answers hide inside a healthy-looking average
            "logps_chosen_quantiles": quantiles([c for (c, _), _ in logps]),
            "logps_rejected_quantiles": quantiles([r for _, (r, _) in logps])}


def quantiles(values: Sequence[float]) -> dict[str, float]:
    """5th, 50th and 95th percentiles and the minimum (nearest-rank: exact values that occurred)."""
    ordered = sorted(values)
    pick = {"p5": 0.05, "p50": 0.5, "p95": 0.95}
    out = {k: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) for k, q in pick.items()}
    return {"min": round(ordered[0], 3), **out}


def perplexity(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[float, int]:
    seqs = [(_ids(tokenizer(t, add_special_tokens=False))[:max_length], 0) for t in texts]
    scores = token_logps(model, tokenizer, [s for s in seqs if len(s[0]) > 1])
    nll, tokens = -sum(s for s, _ in scores), sum(n for _, n in scores)
    mean = nll / tokens
    return (math.exp(mean) if mean < 700 else math.inf), tokens  # exp overflows past ~709


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Dropout (LoRA's included) off while measuring; the previous mode back afterwards."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


class Models:
    """The trained policy and its reference: the adapter switched off for LoRA runs, the trainer's frozen copy,
    or the base checkpoint loaded again for full fine-tuning without one."""

    def __init__(self, trainer: Any, load_reference: Callable[[], Any]) -> None:
        policy = getattr(trainer, "policy_model", None)  # PPO wraps policy and value together in trainer.model
        if policy is None:
            policy = trainer.model
        acc = getattr(trainer, "accelerator", None)
        self.policy = acc.unwrap_model(policy) if acc else policy
        self._ref = getattr(trainer, "ref_model", None)
        self._load = load_reference

    @contextlib.contextmanager
    def reference(self) -> Iterator[Any]:
        if hasattr(self.policy, "disable_adapter"):
            with self.policy.disable_adapter(), eval_mode(self.policy):
                yield self.policy
            return
        if self._ref is None:
            self._ref = self._load().to(_device(self.policy))
        with eval_mode(self._ref):
            yield self._ref

    @contextlib.contextmanager
    def trained(self) -> Iterator[Any]:
        with eval_mode(self.policy):
            yield self.policy


def _log(message: str) -> None:
    print(f"[reins] post-training evaluation: {message}", flush=True)


def evaluate_after_training(recipe: Recipe, models: Models, tokenizer: Any, held_out: Sequence[dict[str, Any]],
                            writer: EventWriter, step: int, load_judge_model: Callable[[str], tuple[Any, Any]]
                            ) -> dict[str, Any]:
    """Measure, write `sample` events and one `evaluation` event, and return its values. A part that fails is
    recorded under `errors` and the others still run: training already succeeded and its outputs are saved."""
    cfg = recipe.report
    values: dict[str, Any] = {"errors": {}}
    t0 = time.perf_counter()
    prompts = prompts_of(held_out)[: cfg.samples]
    writer.write("phase", step=step, name="post-training evaluation",
                 detail=f"{len(prompts)} samples, pairs, perplexity" + (", judge" if cfg.judge else "")
                 + (", probes" if cfg.probes else "") + (", lm-eval" if cfg.lm_eval else ""))
    samples: list[dict[str, Any]] = []
    if cfg.samples and not prompts:
        values["errors"]["samples"] = "no held-out prompts: set data.eval to get side-by-side generations"
    if prompts:
        _run_part(values, "samples", lambda: samples.extend(_samples(models, tokenizer, prompts, cfg.max_new_tokens,
                                                                     recipe.train.seed)))
    pairs = [r for r in held_out if "chosen" in r and "rejected" in r][: cfg.pairs]
    if pairs:
        _run_part(values, "preference", lambda: _preference(models, tokenizer, pairs, recipe.train.max_length))
    if cfg.perplexity_texts:
        _run_part(values, "perplexity", lambda: _perplexity(models, tokenizer, recipe))
    if cfg.judge is not None and samples:
        _run_part(values, "judge", lambda: _judge(cfg.judge, samples, load_judge_model))
    from engine.worker.probing import capability_parts  # it imports this module's helpers

    for name, part in capability_parts(recipe, models, tokenizer, writer, step):
        _run_part(values, name, part)
    for i, s in enumerate(samples):
        writer.write("sample", step=step, index=i, **s)
    values["samples"] = len(samples)
    values["seconds"] = round(time.perf_counter() - t0, 2)
    if not values["errors"]:
        del values["errors"]
    writer.write("evaluation", step=step, values=values)
    return values


def _run_part(values: dict[str, Any], name: str, part: Callable[[], Any]) -> None:
    try:
        result = part()
    except Exception as exc:  # noqa: BLE001 - one failed measurement must not cost the others
        values["errors"][name] = f"{exc.__class__.__name__}: {exc}"
        _log(f"{name} failed: {values['errors'][name]}")
        return
    if result is not None:
        values[name] = result


def _samples(models: Models, tokenizer: Any, prompts: list[Any], max_new: int, seed: int) -> list[dict[str, Any]]:
    _log(f"{len(prompts)} held-out prompts, greedy, up to {max_new} new tokens, reference then policy")
    with models.reference() as ref:
        reference = generate(ref, tokenizer, prompts, max_new, seed)
    with models.trained() as pol:
        policy = generate(pol, tokenizer, prompts, max_new, seed)
    # `messages` keeps a conversational prompt as given, so a reward model can judge later in the same chat format
    return [{"prompt": prompt_text(p), "reference": r, "policy": a, "winner": None,
             **({"messages": p} if isinstance(p, list) else {})}
            for p, r, a in zip(prompts, reference, policy, strict=True)]


def _preference(models: Models, tokenizer: Any, pairs: list[dict[str, Any]], max_length: int) -> dict[str, Any]:
    _log(f"{len(pairs)} held-out pairs scored by reference and policy log-probs")
    seqs = []
    for row in pairs:
        for side in ("chosen", "rejected"):
            ids, start = pair_ids(tokenizer, row["prompt"], row[side]) if "prompt" in row else \
                pair_ids(tokenizer, "", row[side])
            seqs.append((ids[:max_length], start))
    # A pair whose prompt fills max_length leaves nothing to score: drop it rather than count a 0-token answer.
    usable = [i for i in range(0, len(seqs), 2) if all(seqs[j][1] < len(seqs[j][0]) for j in (i, i + 1))]
    chosen_rejected = [s for i in usable for s in (seqs[i], seqs[i + 1])]
    out: dict[str, Any] = {"pairs": len(usable)}
    for name, ctx in (("reference", models.reference), ("policy", models.trained)):
        with ctx() as model:
            lp = token_logps(model, tokenizer, chosen_rejected)
        out[name] = pair_figures(list(zip(lp[0::2], lp[1::2], strict=True)))
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


def _judge(cfg: RewardModelJudge | ChatJudge, samples: list[dict[str, Any]],
           load_judge_model: Callable[[str], tuple[Any, Any]]) -> dict[str, Any]:
    _log(f"judging {len(samples)} pairs of answers with {cfg.kind} {cfg.model}")
    if isinstance(cfg, ChatJudge):
        client = ChatJudgeClient(cfg)
        for s in samples:
            s["winner"] = client.judge(s["prompt"], s["policy"], s["reference"])
    else:
        model, tok = load_judge_model(cfg.model)
        score_with_reward_model(model, tok, samples, cfg.tie_margin)
    return {"kind": cfg.kind, "model": cfg.model, **tally([s["winner"] for s in samples]).to_dict()}


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
    return float(model(input_ids=torch.tensor([ids], device=_device(model))).logits[0, 0])

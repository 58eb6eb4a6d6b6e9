"""Measuring a model without training it: prompts as token ids, batched greedy generation, summed log-probs of
answers, held-out pair figures, perplexity, and the reference/policy pair that every evaluation part measures."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from engine.data.text import answer_text, prompt_text, prompts_of  # noqa: F401 - the last two re-exported: their old home

SCORE_BATCH = 8  # sequences per forward pass when scoring log-probs


def token_ids(out: Any) -> list[int]:
    """Token ids from what a tokenizer call returns (a list, or a BatchEncoding in transformers 5)."""
    return list(out["input_ids"] if hasattr(out, "keys") else out)  # transformers 5 returns a BatchEncoding


def prompt_ids(tokenizer: Any, prompt: Any) -> list[int]:
    if isinstance(prompt, list):
        return token_ids(tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True))
    return token_ids(tokenizer(prompt))


def pair_ids(tokenizer: Any, prompt: Any, completion: Any) -> tuple[list[int], int]:
    """Token ids of prompt + completion, and where the completion starts."""
    head = prompt_ids(tokenizer, prompt)
    if isinstance(prompt, list) and isinstance(completion, list):
        full = token_ids(tokenizer.apply_chat_template(prompt + completion, tokenize=True))
        if full[: len(head)] == head:
            return full, len(head)
    return head + token_ids(tokenizer(answer_text(completion), add_special_tokens=False)), len(head)


def device_of(model: Any) -> torch.device:
    """Where the model's weights are (inputs must go there too)."""
    return next(model.parameters()).device


def batch_size(model: Any, configured: int | None) -> int:
    """Prompts per `generate` call: the recipe's, else large on a GPU (memory is plentiful, kernels want width) and
    moderate on a CPU (past ~16 rows the matmuls stop getting cheaper per row and padding waste grows)."""
    if configured:
        return configured
    return 64 if device_of(model).type == "cuda" else 16


Progress = Callable[[int, int], None]


@torch.no_grad()
def generate(model: Any, tokenizer: Any, prompts: Sequence[Any], max_new_tokens: int, seed: int,
             batch: int | None = None, progress: Progress | None = None, temperature: float = 0.0) -> list[str]:
    """Greedy answers (deterministic; the seed only matters for kernels with nondeterministic ties), or sampled ones
    at `temperature` > 0 (reproducible from `seed`), generated in batches with left padding. Prompts are batched by
    length so little of each batch is padding; answers come back in the prompts' order. `progress(done, total)` is
    called after each batch."""
    torch.manual_seed(seed)
    side, tokenizer.padding_side = tokenizer.padding_side, "left"  # decoder-only models continue on the right
    encoded = [prompt_ids(tokenizer, p) for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    width = batch_size(model, batch)
    answers: dict[int, str] = {}
    try:
        for i in range(0, len(order), width):
            rows = order[i: i + width]
            enc = tokenizer.pad({"input_ids": [encoded[j] for j in rows]}, return_tensors="pt").to(device_of(model))
            sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0} if temperature > 0 \
                else {"do_sample": False}
            out = model.generate(**enc, max_new_tokens=max_new_tokens, use_cache=True,
                                 pad_token_id=tokenizer.pad_token_id, **sampling)
            texts = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            answers.update(zip(rows, texts, strict=True))
            if progress:
                progress(len(answers), len(order))
    finally:
        tokenizer.padding_side = side
    return [answers[i].strip() for i in range(len(encoded))]


def answer_tokens(tokenizer: Any, answers: Sequence[str]) -> list[int]:
    """Each answer's length in the policy tokenizer's tokens (judges favour length: the report compares these)."""
    return [len(token_ids(tokenizer(a, add_special_tokens=False))) for a in answers]


@torch.no_grad()
def token_logps(model: Any, tokenizer: Any, seqs: Sequence[tuple[list[int], int]]) -> list[tuple[float, int]]:
    """Per sequence: the summed log-prob of its tokens from `start` on, and how many tokens that is."""
    out: list[tuple[float, int]] = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for i in range(0, len(seqs), SCORE_BATCH):
        chunk = seqs[i: i + SCORE_BATCH]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        scored = torch.zeros((len(chunk), width), dtype=torch.bool)
        for j, (seq, start) in enumerate(chunk):
            ids[j, : len(seq)] = torch.tensor(seq)
            mask[j, : len(seq)] = 1
            scored[j, max(1, start): len(seq)] = True  # token 0 has no context to be predicted from
        dev = device_of(model)
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
    seqs = [(token_ids(tokenizer(t, add_special_tokens=False))[:max_length], 0) for t in texts]
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
        output_dir = getattr(getattr(trainer, "args", None), "output_dir", None)
        self.checkpoint_dir = Path(output_dir) if output_dir else None  # where the trainer saved checkpoint-<step>/

    @contextlib.contextmanager
    def reference(self) -> Iterator[Any]:
        if hasattr(self.policy, "disable_adapter"):
            with self.policy.disable_adapter(), eval_mode(self.policy):
                yield self.policy
            return
        if self._ref is None:
            self._ref = self._load().to(device_of(self.policy))
        with eval_mode(self._ref):
            yield self._ref

    @contextlib.contextmanager
    def trained(self) -> Iterator[Any]:
        with eval_mode(self.policy):
            yield self.policy


def pair_sequences(tokenizer: Any, pairs: Sequence[dict[str, Any]], max_length: int) -> list[tuple[list[int], int]]:
    """Token sequences of the held-out pairs, chosen then rejected for each pair, cut at `max_length`."""
    seqs = []
    for row in pairs:
        for side in ("chosen", "rejected"):
            ids, start = pair_ids(tokenizer, row["prompt"], row[side]) if "prompt" in row else \
                pair_ids(tokenizer, "", row[side])
            seqs.append((ids[:max_length], start))
    # A pair whose prompt fills max_length leaves nothing to score: drop it rather than count a 0-token answer.
    usable = [i for i in range(0, len(seqs), 2) if all(seqs[j][1] < len(seqs[j][0]) for j in (i, i + 1))]
    return [s for i in usable for s in (seqs[i], seqs[i + 1])]


def score_pairs(model: Any, tokenizer: Any, seqs: Sequence[tuple[list[int], int]]) -> dict[str, float]:
    """`pair_figures` of one model on `pair_sequences`' output."""
    lp = token_logps(model, tokenizer, seqs)
    return pair_figures(list(zip(lp[0::2], lp[1::2], strict=True)))

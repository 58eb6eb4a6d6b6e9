"""A local chat model as a pairwise judge: it reads the rubric and both answers, and the log-probs of its first
token being "A" or "B" decide — deterministic (no sampling), batched, asked in both orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from engine.verdict.judge import decide_by_gaps, pairwise_messages
from engine.worker.measuring import SCORE_BATCH, eval_mode, token_ids

ELLIPSIS = " …"


def letter_ids(tokenizer: Any) -> tuple[int, int]:
    """The token ids the judge's reply would start with for "A" and for "B"."""
    a, b = (token_ids(tokenizer(letter, add_special_tokens=False)) for letter in ("A", "B"))
    if not a or not b or a[0] == b[0]:
        raise ValueError("the judge's tokenizer does not tell 'A' from 'B' by their first token")
    return a[0], b[0]


def _template(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the judge model has no chat template: a local judge must be a chat (instruct) model")
    try:
        return token_ids(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))
    except Exception:  # noqa: BLE001 - some templates refuse a system turn (Gemma's): fold it into the user's
        merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
        return token_ids(tokenizer.apply_chat_template(merged, add_generation_prompt=True, tokenize=True))


def _clip(tokenizer: Any, text: str, budget: int) -> str:
    ids = token_ids(tokenizer(text, add_special_tokens=False))
    return text if len(ids) <= budget else tokenizer.decode(ids[:budget], skip_special_tokens=True) + ELLIPSIS


def judge_prompt_ids(tokenizer: Any, prompt: str, answer_a: str, answer_b: str, max_length: int) -> list[int]:
    """The rubric and both answers in the judge's chat format, ending with its generation prompt. Past `max_length`
    each answer is shortened to an equal share of the room left, so neither side is cut more than the other."""
    ids = _template(tokenizer, pairwise_messages(prompt, answer_a, answer_b))
    if len(ids) <= max_length:
        return ids
    room = max_length - len(_template(tokenizer, pairwise_messages(prompt, ELLIPSIS, ELLIPSIS)))
    budget = max(1, room // 2)
    ids = _template(tokenizer, pairwise_messages(prompt, _clip(tokenizer, answer_a, budget),
                                                 _clip(tokenizer, answer_b, budget)))
    return ids[-max_length:]  # a user message too long on its own: keep the answers and the question at the end


@torch.no_grad()
def letter_gaps(model: Any, tokenizer: Any, seqs: Sequence[list[int]]) -> list[float]:
    """Per judging prompt: log p("A") − log p("B") for the judge's next token."""
    a_id, b_id = letter_ids(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    out: list[float] = []
    for i in range(0, len(seqs), SCORE_BATCH):
        chunk = seqs[i: i + SCORE_BATCH]
        # right padding: the real tokens keep positions 0…n-1, so a prompt scores the same in any batch
        ids = torch.full((len(chunk), max(len(s) for s in chunk)), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for j, seq in enumerate(chunk):
            ids[j, : len(seq)] = torch.tensor(seq)
            mask[j, : len(seq)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        last = torch.tensor([len(s) - 1 for s in chunk], device=logits.device)
        logp = torch.log_softmax(logits[torch.arange(len(chunk), device=logits.device), last].float(), dim=-1)
        out += [float(g) for g in (logp[:, a_id] - logp[:, b_id]).cpu()]
    return out


def judge_samples(model: Any, tokenizer: Any, samples: list[dict[str, Any]], max_length: int) -> None:
    """Set each sample's `winner` (a win must survive swapping the answers) and `scores` (the log-prob gap in the
    policy's favour with the policy as A and as B)."""
    if torch.cuda.is_available() and next(model.parameters()).device.type == "cpu":
        model.to(torch.device("cuda", torch.cuda.current_device()))  # a quantized model is placed already

    def gaps(pairs: Sequence[tuple[str, str, str]]) -> list[float]:
        return letter_gaps(model, tokenizer, [judge_prompt_ids(tokenizer, p, a, b, max_length) for p, a, b in pairs])

    with eval_mode(model):
        decide_by_gaps(samples, gaps)

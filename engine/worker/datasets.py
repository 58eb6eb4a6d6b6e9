"""Building the train/eval `datasets.Dataset`s a TRL trainer gets, from the recipe's data section."""

from __future__ import annotations

import random
from typing import Any

from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from engine.data.checks import required_fields
from engine.data.mixture import read_train
from engine.data.reading import read_section
from engine.recipe.schema import Recipe


def prompt_tokens(tokenizer: PreTrainedTokenizerBase, prompt: Any) -> int:
    """Length of a prompt in tokens, as the chat template renders it for conversational data."""
    if isinstance(prompt, list):
        out = tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True)
        ids = out["input_ids"] if isinstance(out, dict) or hasattr(out, "keys") else out  # transformers 5: a dict
        return len(ids)
    return len(tokenizer(prompt)["input_ids"])


def build_datasets(
    recipe: Recipe, tokenizer: PreTrainedTokenizerBase
) -> tuple[Dataset, Dataset | None, dict[str, int]]:
    """Train and eval datasets with only the columns the method uses, plus row counts for the run's record."""
    d = recipe.data
    rows = read_train(d, recipe.train.seed).rows
    keep = required_fields(recipe.method.name, rows)
    if getattr(recipe.method, "reward_funcs", None) and rows:
        keep = list(dict.fromkeys([*keep, *rows[0]]))  # reward functions read the data's other columns (an answer)
    rows = [{k: r.get(k) for k in keep} for r in rows]
    eval_rows = None
    if d.eval:
        eval_rows = [{k: r.get(k) for k in keep} for r in read_section(d.eval, d).rows]
    elif d.eval_fraction > 0:
        shuffled = rows[:]
        random.Random(recipe.train.seed).shuffle(shuffled)
        n_eval = max(1, round(len(shuffled) * d.eval_fraction))
        eval_rows, rows = shuffled[:n_eval], shuffled[n_eval:]
    if d.max_rows:
        rows = rows[: d.max_rows]
    counts = {"train_rows": len(rows), "eval_rows": len(eval_rows or [])}
    limit = recipe.train.max_prompt_length
    if limit and "prompt" in keep:
        before = len(rows)
        rows = [r for r in rows if prompt_tokens(tokenizer, r["prompt"]) <= limit]
        counts["skipped_long_prompts"] = before - len(rows)
        if not rows:
            raise ValueError(f"every training prompt is longer than train.max_prompt_length={limit} tokens")
    train = Dataset.from_list(rows)
    return train, (Dataset.from_list(eval_rows) if eval_rows else None), counts

"""Eval prompts that also appear in the training data: a model judged on prompts it trained on scores a win rate
that lies, so `reins validate` and `reins run` warn."""

from __future__ import annotations

from typing import Any

from engine.data.mixture import read_train
from engine.data.reading import read_section
from engine.data.text import prompt_key, prompt_text, prompts_of

SHOWN = 3


def leaked_prompts(train_rows: list[dict[str, Any]], eval_rows: list[dict[str, Any]]) -> list[str]:
    """The eval prompts (compared by `prompt_key`: case and spacing ignored) that a training row also has."""
    seen = {prompt_key(p) for p in prompts_of(train_rows)}
    out, found = [], set()
    for prompt in prompts_of(eval_rows):
        key = prompt_key(prompt)
        if key and key in seen and key not in found:
            found.add(key)
            out.append(prompt_text(prompt))
    return out


def leakage_warning(data: Any, seed: int = 0) -> str | None:
    """A warning naming how many of `data.eval`'s prompts the training data holds too (None when none does, or
    there is no separate eval file: `eval_fraction` holds rows out of train itself)."""
    if not data.eval:
        return None
    eval_rows = read_section(data.eval, data).rows
    leaked = leaked_prompts(read_train(data, seed).rows, eval_rows)
    if not leaked:
        return None
    n_eval = len(prompts_of(eval_rows))
    shown = "; ".join(f"“{' '.join(p.split())[:60]}”" for p in leaked[:SHOWN]) + (" …" if len(leaked) > SHOWN else "")
    return (f"{len(leaked)} of {n_eval} eval prompts also appear in the training data ({shown}): the held-out "
            "figures and win rates on them measure memory, not generalisation — remove them from one side.")

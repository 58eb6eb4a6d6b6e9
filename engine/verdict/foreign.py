"""Logs other tools wrote (a TRL/transformers `trainer_state.json`, a bare `log_history`): their entries as metric
events, and what they do not say — the method and its β — inferred from their keys, or taken from the user."""

from __future__ import annotations

from typing import Any

from engine.errors import ReinsError
from engine.recipe.methods import METHODS
from engine.verdict.history import as_float
from engine.verdict.monitor import Monitor

# Totals the HF Trainer logs once at the end: not curves.
TRL_TOTAL_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos",
                  "train_tokens_per_second", "runtime", "samples_per_second", "steps_per_second"}


# Keys only one kind of trainer logs, most telling first: how a log from another tool says what made it. GRPO and
# RLOO log the same keys (named grpo), so do DPO, CPO and SimPO (named dpo).
METHOD_CLUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ppo", ("objective/kl", "objective/scores", "loss/value_avg")),
    ("grpo", ("frac_reward_zero_std", "completions/mean_length", "completion_length", "reward_std")),
    ("orpo", ("log_odds_ratio", "log_odds_chosen")),
    ("kto", ("kl",)),  # with rewards/* and no preference accuracy (GRPO's kl came with its own keys above)
    ("dpo", ("rewards/margins", "rewards/accuracies")),
    ("rm", ("accuracy", "margin")),
    ("sft", ("mean_token_accuracy",)),
)
DEFAULT_BETA = 0.1  # TRL's DPOConfig/KTOConfig default


class HealthInputError(ReinsError):
    """The file or run given to `reins health` cannot be read as metric history."""



def log_history_to_events(log_history: list[Any]) -> list[dict[str, Any]]:
    """TRL/transformers `log_history` dicts → Reins metric events (train and eval splits, TRL's own keys)."""
    events: list[dict[str, Any]] = []
    for i, entry in enumerate(log_history):
        if not isinstance(entry, dict):
            raise HealthInputError(f"log_history entry {i} is not an object (got {type(entry).__name__}).")
        step = entry.get("step", 0)
        train: dict[str, Any] = {}
        evals: dict[str, Any] = {}
        for key, value in entry.items():
            if key in ("step", "epoch") or as_float(value) is None:
                continue  # text, lists, booleans: not a curve
            if key.startswith("eval_"):
                if key[5:] not in TRL_TOTAL_KEYS:
                    evals[key[5:]] = value
            elif key not in TRL_TOTAL_KEYS:
                train[key] = value
        for split, values in (("train", train), ("eval", evals)):
            if values:
                events.append({"kind": "metric", "step": step, "epoch": entry.get("epoch"), "split": split,
                               "values": values})
    return events


def infer_method(events: list[dict[str, Any]]) -> tuple[str | None, list[str]]:
    """The method a log's keys imply, and the keys that said so (None, [] when nothing does)."""
    keys = {k for e in events for k in (e.get("values") or {})}
    for method, clues in METHOD_CLUES:
        found = [k for k in clues if k in keys]
        if method == "kto" and (not found or "rewards/chosen" not in keys or "rewards/accuracies" in keys):
            continue
        if found:
            return method, found
    return None, []


def foreign_monitor(events: list[dict[str, Any]], max_steps: int | None = None, batch: int | None = None,
                    method: str | None = None, beta: float | None = None) -> tuple[Monitor, str]:
    """A monitor for a log without a recipe: the method and β the user gave, else what the keys imply (β: TRL's
    default), and one line saying what was assumed."""
    if method is not None and method not in METHODS:
        raise HealthInputError(f"--method {method!r} is not a method Reins knows (one of {', '.join(METHODS)}).")
    if beta is not None and not beta > 0:
        raise HealthInputError(f"--beta must be a positive number (got {beta:g}).")
    said: list[str] = []
    if method is None:
        method, clues = infer_method(events)
        said.append(f"method {method} (from its keys {', '.join(clues)}; --method to say otherwise)" if method
                    else "method unknown (no key names one; --method to say which)")
    else:
        said.append(f"method {method} (given)")
    spec = METHODS.get(method or "")
    uses_beta = spec is not None and spec.preference and spec.reference or method == "kto"
    if beta is None and uses_beta:
        beta = DEFAULT_BETA
        said.append(f"β {beta:g} (TRL's default; --beta to say otherwise)")
    elif beta is not None:
        said.append(f"β {beta:g} (given)")
    monitor = Monitor(method=method, max_steps=max_steps, beta=beta)
    if batch:
        monitor.history.sequences_per_step = int(batch) * (2 if spec is not None and spec.preference else 1)
    return monitor, "; ".join(said)

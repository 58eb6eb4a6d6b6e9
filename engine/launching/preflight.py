"""Pre-flight warnings: settings that are legal but usually a mistake (they warn, never fail)."""

from __future__ import annotations

import json
from pathlib import Path

from engine.data.checks import required_fields
from engine.data.leakage import leakage_warning
from engine.data.mixture import read_train
from engine.data.tokens import row_lengths, token_counter, tokenizer_dir
from engine.errors import ReinsError
from engine.launching.secrets import launch_warnings
from engine.recipe.methods import METHODS
from engine.recipe.model_refs import resolve_model
from engine.recipe.schema import Recipe

LR_RANGE = (1e-6, 1e-4)
LORA_LR_FACTOR = 5  # adapters train well at ~5× a full fine-tune's rate
BETA_RANGE = (0.05, 1.0)
TRUNCATION_LIMIT = 0.05


def has_chat_template(model_dir: Path) -> bool | None:
    """Whether a checkpoint folder ships a chat template (None when it cannot be told without loading it)."""
    if (model_dir / "chat_template.jinja").is_file() or (model_dir / "chat_template.json").is_file():
        return True
    cfg = model_dir / "tokenizer_config.json"
    if not cfg.is_file():
        return None
    try:
        return bool(json.loads(cfg.read_text()).get("chat_template"))
    except (OSError, json.JSONDecodeError):
        return None


def token_lengths(recipe: Recipe, model_dir: Path) -> list[int] | None:
    """Approximate tokenised length of every training row (prompt + longest response), or None without a
    `tokenizer.json` to count with."""
    count = token_counter(model_dir)
    if count is None:
        return None
    rows = read_train(recipe.data, recipe.train.seed).rows
    return row_lengths(rows, required_fields(recipe.method.name, rows), count)


def preflight_warnings(recipe: Recipe, runs_root: Path | None = None) -> list[str]:
    """Plain-language warnings about the recipe; an empty list when nothing looks off."""
    out: list[str] = []
    m, t = recipe.method, recipe.train
    spec = METHODS[m.name]
    low, high = LR_RANGE
    if recipe.lora is not None:
        high *= LORA_LR_FACTOR
    if not low <= t.learning_rate <= high:
        kind = "LoRA" if recipe.lora is not None else "full fine-tuning"
        out.append(f"train.learning_rate={t.learning_rate:g} is outside the usual [{low:g}, {high:g}] for {kind}; "
                   "too high often shows as chosen rewards falling, too low as margins that never grow.")
    beta = getattr(m, "beta", None)
    if spec.beta_scale and beta is not None and not BETA_RANGE[0] <= beta <= BETA_RANGE[1]:
        out.append(f"method.beta={beta:g} is outside the usual [{BETA_RANGE[0]:g}, {BETA_RANGE[1]:g}]: a small β lets "
                   "the policy drift far from the reference, a large one barely moves it.")
    for name in spec.unused_train:
        if name in t.model_fields_set:  # said in the recipe or an override, yet TRL would never see it
            config = spec.trl_config.partition(":")[2]
            out.append(f"train.{name} does not apply to {m.name}: TRL's {config} has no such field "
                       f"({spec.unused_train_note}); Reins uses it only for the memory estimate and the "
                       "post-training evaluation.")
    out += checkpoint_warnings(recipe)
    try:
        leak = leakage_warning(recipe.data, t.seed)
    except ReinsError:
        leak = None  # unreadable data is an error check_data reports
    out += [leak] if leak else []
    if recipe.distributed.strategy != "ddp":
        from engine.launching.distributed import visible_gpus

        if visible_gpus() == 0:
            out.append(f"distributed.strategy={recipe.distributed.strategy} shards across CUDA GPUs; without one, "
                       "accelerate falls back to plain data parallelism on the CPU (every rank holds the whole model).")
    try:
        resolved = resolve_model(recipe.model.name, runs_root)
    except ReinsError:
        return out  # a missing model is an error reported elsewhere
    model_dir = tokenizer_dir(resolved)
    if spec.aligns:
        if has_chat_template(resolved.path) is False and has_chat_template(model_dir) is False:
            out.append(f"{recipe.model.name} has no chat template, so it has probably not been through SFT; "
                       "preference methods work best on an instruction-tuned model (run `sft` first).")
    lengths = token_lengths(recipe, model_dir) if not spec.generates else None
    if lengths:
        over = sum(1 for n in lengths if n > t.max_length) / len(lengths)
        p95 = sorted(lengths)[int(0.95 * (len(lengths) - 1))]
        if over > TRUNCATION_LIMIT:
            out.append(f"{over:.0%} of training rows are longer than train.max_length={t.max_length} tokens "
                       f"(95th percentile ≈ {p95}); they will be truncated — consider train.max_length={p95}.")
    return out


def checkpoint_warnings(recipe: Recipe) -> list[str]:
    """`report.checkpoints` compares the saved checkpoints: warn when there will be none, or fewer than saved."""
    t, spec = recipe.train, METHODS[recipe.method.name]
    if not recipe.report.checkpoints:
        return []
    if not (spec.preference and spec.post_eval and (recipe.data.eval or recipe.data.eval_fraction)
            and recipe.report.pairs):
        return ["report.checkpoints scores each checkpoint on held-out preference pairs, and this run has none (it "
                "needs a preference method, data.eval or data.eval_fraction, and report.pairs above 0)."]
    if not t.save_steps:
        every = f"={max(1, t.max_steps // 5)}" if t.max_steps else ""
        return [f"report.checkpoints is on but train.save_steps is unset: no checkpoint is saved except the final "
                f"one, so there is no earlier step to compare (set train.save_steps{every})."]
    saved = -(-t.max_steps // t.save_steps) if t.max_steps else 0  # the trainer saves at the final step too
    if saved > t.save_total_limit:
        return [f"report.checkpoints compares the checkpoints still on disk: train.save_steps={t.save_steps} saves "
                f"{saved} over {t.max_steps} steps but train.save_total_limit={t.save_total_limit} keeps only the "
                f"last {t.save_total_limit} (set train.save_total_limit={saved} to compare them all)."]
    return []


def recipe_warnings(recipe: Recipe, runs_root: Path | None = None) -> list[str]:
    """Everything to warn about before a launch: what the recipe lets run on this machine (security), then the
    settings that are legal but usually a mistake. `reins validate`, `reins run` and the TUI all show these."""
    return launch_warnings(recipe) + preflight_warnings(recipe, runs_root)

"""One builder per method: recipe → TRL config + trainer. Adding a method means adding a builder here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig
from transformers import PreTrainedTokenizerBase, TrainerCallback

from engine.schema import Recipe


def precision_flags(recipe: Recipe) -> dict[str, bool]:
    """bf16/fp16 switches for TrainingArguments (TRL's configs default bf16=True, which a CPU run must undo)."""
    wanted = recipe.train.precision
    if wanted == "auto":
        wanted = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return {"bf16": wanted == "bf16", "fp16": wanted == "fp16"}


def common_args(recipe: Recipe, output_dir: Path, has_eval: bool) -> dict[str, Any]:
    """TrainingArguments shared by every method, mapped from the recipe's `train` section."""
    t = recipe.train
    args: dict[str, Any] = {
        "output_dir": str(output_dir),
        "num_train_epochs": t.epochs,
        "max_steps": t.max_steps or -1,
        "per_device_train_batch_size": t.batch_size,
        "per_device_eval_batch_size": t.eval_batch_size or t.batch_size,
        "gradient_accumulation_steps": t.grad_accum,
        "learning_rate": t.learning_rate,
        "lr_scheduler_type": t.lr_scheduler,
        "warmup_steps": t.warmup_ratio,  # a float in [0, 1) is a ratio in transformers 5
        "weight_decay": t.weight_decay,
        "optim": t.optimizer,
        "max_grad_norm": t.max_grad_norm,
        "gradient_checkpointing": t.gradient_checkpointing,
        "seed": t.seed,
        "data_seed": t.seed,
        "logging_steps": t.logging_steps,
        "logging_first_step": True,
        "eval_strategy": "steps" if (has_eval and t.eval_steps) else "no",
        "eval_steps": t.eval_steps,
        "eval_on_start": bool(has_eval and t.eval_on_start),
        "save_strategy": "steps" if t.save_steps else "no",
        "save_steps": t.save_steps or 500,
        "save_total_limit": t.save_total_limit,
        "report_to": "none",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "max_length": t.max_length,
        **precision_flags(recipe),
    }
    if t.gradient_checkpointing:
        args["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    return args


def peft_config(recipe: Recipe) -> LoraConfig | None:
    if recipe.lora is None:
        return None
    lo = recipe.lora
    return LoraConfig(r=lo.r, lora_alpha=lo.alpha, lora_dropout=lo.dropout, target_modules=lo.target_modules,
                      task_type="CAUSAL_LM")


def build_sft(recipe: Recipe, model: Any, tokenizer: PreTrainedTokenizerBase, train: Any, eval_: Any,
              output_dir: Path, callbacks: list[TrainerCallback]) -> Any:
    from trl import SFTConfig, SFTTrainer

    m = recipe.method
    config = SFTConfig(**common_args(recipe, output_dir, eval_ is not None),
                       completion_only_loss=m.completion_only_loss, packing=m.packing)
    return SFTTrainer(model=model, args=config, train_dataset=train, eval_dataset=eval_,
                      processing_class=tokenizer, peft_config=peft_config(recipe), callbacks=callbacks)


def build_dpo(recipe: Recipe, model: Any, tokenizer: PreTrainedTokenizerBase, train: Any, eval_: Any,
              output_dir: Path, callbacks: list[TrainerCallback]) -> Any:
    from trl import DPOConfig, DPOTrainer

    m = recipe.method
    config = DPOConfig(**common_args(recipe, output_dir, eval_ is not None),
                       beta=m.beta, loss_type=[m.loss_type], label_smoothing=m.label_smoothing,
                       discopop_tau=m.discopop_tau, precompute_ref_log_probs=m.precompute_ref_log_probs)
    return DPOTrainer(model=model, ref_model=None, args=config, train_dataset=train, eval_dataset=eval_,
                      processing_class=tokenizer, peft_config=peft_config(recipe), callbacks=callbacks)


Builder = Callable[..., Any]
BUILDERS: dict[str, Builder] = {"sft": build_sft, "dpo": build_dpo}

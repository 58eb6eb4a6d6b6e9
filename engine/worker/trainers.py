"""One builder per method: recipe → TRL config + trainer (engine.recipe.methods names each method's builder)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig
from transformers import PreTrainedTokenizerBase, TrainerCallback

from engine.recipe.methods import METHODS
from engine.recipe.schema import Recipe
from engine.recipe.trackers import PROJECT


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
        "report_to": t.report_to or "none",
        "run_name": output_dir.parent.name,  # the run's id: trackers show it beside Reins' own records
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        # Without CUDA, ranks started by `accelerate launch` train on the CPU and talk over gloo.
        "use_cpu": not torch.cuda.is_available(),
        "max_length": t.max_length,
        **precision_flags(recipe),
    }
    if t.gradient_checkpointing:
        args["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    return args


def peft_config(recipe: Recipe, task_type: str = "CAUSAL_LM") -> LoraConfig | None:
    if recipe.lora is None:
        return None
    lo = recipe.lora
    # A reward model's new scalar head must be trained and saved in full, not through an adapter.
    extra = {"modules_to_save": ["score"]} if task_type == "SEQ_CLS" else {}
    return LoraConfig(r=lo.r, lora_alpha=lo.alpha, lora_dropout=lo.dropout, target_modules=lo.target_modules,
                      task_type=task_type, **extra)


@dataclass
class BuildContext:
    """What every builder gets: the recipe, the loaded main model and tokenizer, data, and where to write."""

    recipe: Recipe
    model: Any
    tokenizer: PreTrainedTokenizerBase
    train: Any
    eval: Any
    output_dir: Path
    callbacks: list[TrainerCallback]
    runs_root: Path | None = None

    def config(self, cls: type, **method_args: Any) -> Any:
        """A TRL config from the shared arguments plus the method's own. A method setting that reaches no field of
        `cls` is an error (a silently dropped setting would train something else than the recipe says); shared
        arguments the method's spec declares unused (`unused_train`, e.g. max_length for GRPO) are left out."""
        known = {f.name for f in fields(cls)}
        trl = self.recipe.method.trl  # checked at validate: real fields that no Reins setting fills
        clash = sorted(set(trl) & (set(method_args) | set(common_args(self.recipe, self.output_dir, True))))
        if clash:
            raise TypeError(f"method.trl sets {', '.join(clash)}, which the {self.recipe.method.name} builder fills "
                            "from Reins settings: add it to engine.recipe.trl_settings")
        project = {"project": PROJECT} if "project" in known else {}  # trackio's project; method.trl may name another
        method_args = {**project, **method_args, **trl}
        unknown = sorted(set(method_args) - known)
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}: the {self.recipe.method.name} builder "
                            "passes a setting TRL would ignore")
        shared = common_args(self.recipe, self.output_dir, self.eval is not None)
        skipped = set(METHODS[self.recipe.method.name].unused_train)
        dropped = sorted(set(shared) - known - skipped)
        if dropped:
            raise TypeError(f"{cls.__name__} has no field {', '.join(dropped)}: declare it in the method's "
                            "`unused_train` (engine.recipe.methods) or stop passing it")
        return cls(**{k: v for k, v in {**shared, **method_args}.items() if k in known})


def build_sft(c: BuildContext) -> Any:
    from trl import SFTConfig, SFTTrainer

    m = c.recipe.method
    config = c.config(SFTConfig, completion_only_loss=m.completion_only_loss, packing=m.packing)
    return SFTTrainer(model=c.model, args=config, train_dataset=c.train, eval_dataset=c.eval,
                      processing_class=c.tokenizer, peft_config=peft_config(c.recipe), callbacks=c.callbacks)


def build_dpo(c: BuildContext) -> Any:
    from trl import DPOConfig, DPOTrainer

    m = c.recipe.method
    losses = {"loss_type": [m.loss_type, "sft"], "loss_weights": [1.0, m.sft_weight]} if m.sft_weight else \
        {"loss_type": [m.loss_type]}  # TRL sums the listed losses with their weights
    config = c.config(DPOConfig, beta=m.beta, label_smoothing=m.label_smoothing, discopop_tau=m.discopop_tau,
                      precompute_ref_log_probs=m.precompute_ref_log_probs, **losses)
    return DPOTrainer(model=c.model, ref_model=None, args=config, train_dataset=c.train, eval_dataset=c.eval,
                      processing_class=c.tokenizer, peft_config=peft_config(c.recipe), callbacks=c.callbacks)


def build_rm(c: BuildContext) -> Any:
    from trl import RewardConfig, RewardTrainer

    m = c.recipe.method
    config = c.config(RewardConfig, center_rewards_coefficient=m.center_rewards_coefficient)
    return RewardTrainer(model=c.model, args=config, train_dataset=c.train, eval_dataset=c.eval,
                         processing_class=c.tokenizer, peft_config=peft_config(c.recipe, "SEQ_CLS"),
                         callbacks=c.callbacks)


def build_kto(c: BuildContext) -> Any:
    from trl import KTOConfig, KTOTrainer

    m = c.recipe.method
    config = c.config(KTOConfig, beta=m.beta, desirable_weight=m.desirable_weight,
                      undesirable_weight=m.undesirable_weight, loss_type=m.loss_type)
    return KTOTrainer(model=c.model, ref_model=None, args=config, train_dataset=c.train, eval_dataset=c.eval,
                      processing_class=c.tokenizer, peft_config=peft_config(c.recipe), callbacks=c.callbacks)


def build_orpo(c: BuildContext) -> Any:
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    config = c.config(ORPOConfig, beta=c.recipe.method.beta)
    return ORPOTrainer(model=c.model, args=config, train_dataset=c.train, eval_dataset=c.eval,
                       processing_class=c.tokenizer, peft_config=peft_config(c.recipe), callbacks=c.callbacks)


def build_cpo(c: BuildContext) -> Any:
    from trl.experimental.cpo import CPOConfig, CPOTrainer

    m = c.recipe.method
    config = c.config(CPOConfig, loss_type=m.loss_type, beta=m.beta, simpo_gamma=m.simpo_gamma,
                      cpo_alpha=m.cpo_alpha, label_smoothing=m.label_smoothing)
    return CPOTrainer(model=c.model, args=config, train_dataset=c.train, eval_dataset=c.eval,
                      processing_class=c.tokenizer, peft_config=peft_config(c.recipe), callbacks=c.callbacks)


def _reward_model(c: BuildContext, ref: str) -> tuple[Any, PreTrainedTokenizerBase]:
    from engine.worker.loading import load_model

    model, tokenizer, _ = load_model(c.recipe, c.runs_root, ref=ref, task="seq-cls")
    model.eval()
    return model, tokenizer


def _grpo_like(c: BuildContext, config_cls: type, trainer_cls: type) -> Any:
    from engine.worker.reward_funcs import load_reward_funcs

    m = c.recipe.method
    # The reward model first, then the functions: the order `method.reward_weights` follows.
    rewards: list[Any] = []
    tokenizers: list[Any] = []
    if m.reward_model:
        reward, reward_tok = _reward_model(c, m.reward_model)
        rewards, tokenizers = [reward], [reward_tok]
    funcs = load_reward_funcs(m.reward_funcs)
    rewards += funcs
    tokenizers += [None] * len(funcs)  # a function tokenizes nothing
    # The group of completions comes from one batch: generate exactly batch_size completions per step.
    config = c.config(config_cls, beta=m.beta, num_generations=m.num_generations, temperature=m.temperature,
                      max_completion_length=m.max_completion_length, reward_weights=m.reward_weights,
                      eval_strategy="no", eval_on_start=False)
    return trainer_cls(model=c.model, reward_funcs=rewards, args=config, train_dataset=c.train,
                       processing_class=c.tokenizer, reward_processing_classes=tokenizers,
                       peft_config=peft_config(c.recipe), callbacks=c.callbacks)


def build_grpo(c: BuildContext) -> Any:
    from trl import GRPOConfig, GRPOTrainer

    return _grpo_like(c, GRPOConfig, GRPOTrainer)


def build_rloo(c: BuildContext) -> Any:
    from trl import RLOOConfig, RLOOTrainer

    return _grpo_like(c, RLOOConfig, RLOOTrainer)


def build_ppo(c: BuildContext) -> Any:
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    m, t = c.recipe.method, c.recipe.train
    reward, _ = _reward_model(c, m.reward_model)
    value, _ = _reward_model(c, m.value_model or m.reward_model)
    value.train()
    # PPO needs left padding: with right padding its rollouts and metrics turn to garbage within a few steps.
    c.tokenizer.padding_side = "left"
    steps = t.max_steps or max(1, int(t.epochs * len(c.train) / (t.batch_size * t.grad_accum)))
    config = c.config(
        PPOConfig, kl_coef=m.kl_coef, kl_estimator=m.kl_estimator, cliprange=m.cliprange,
        cliprange_value=m.cliprange_value, vf_coef=m.vf_coef, gamma=m.gamma, lam=m.lam,
        response_length=m.response_length, temperature=m.temperature, missing_eos_penalty=m.missing_eos_penalty,
        num_ppo_epochs=m.num_ppo_epochs, num_mini_batches=m.num_mini_batches, whiten_rewards=m.whiten_rewards,
        total_episodes=steps * t.batch_size * t.grad_accum * m.num_mini_batches, stop_token="eos",
        num_sample_generations=0, eval_strategy="no", eval_on_start=False,
    )
    train = c.train.map(lambda row: {"input_ids": _prompt_ids(c.tokenizer, row["prompt"])},
                        remove_columns=c.train.column_names)
    return PPOTrainer(args=config, processing_class=c.tokenizer, model=c.model, ref_model=None,
                      reward_model=reward, value_model=value, train_dataset=train, callbacks=c.callbacks,
                      peft_config=peft_config(c.recipe))


def _prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: Any) -> list[int]:
    if isinstance(prompt, list):
        out = tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True)
        return list(out["input_ids"] if hasattr(out, "keys") else out)  # transformers 5 returns a dict
    return tokenizer(prompt)["input_ids"]


Builder = Callable[[BuildContext], Any]


def builder_for(method: str) -> Builder:
    """The builder the method registry names for `method` ("module:function")."""
    module, _, name = METHODS[method].builder.partition(":")
    return getattr(importlib.import_module(module), name)

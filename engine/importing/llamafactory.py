"""LLaMA-Factory training configs (`llamafactory-cli train FILE.yaml`: one flat mapping of its model, data,
finetuning and training arguments) as Reins recipes."""

from __future__ import annotations

from typing import Any

from engine.importing.mapping import (
    Mapper,
    Unsupported,
    choice,
    first_dataset,
    fraction,
    lr_scheduler,
    number,
    optimizer,
    shared_training_arguments,
    whole,
)

# stage (and, for dpo, pref_loss) → Reins method name and loss type
STAGES = {"sft": "sft", "rm": "rm", "ppo": "ppo", "dpo": "dpo", "kto": "kto",
          "orpo": "orpo", "simpo": "simpo"}  # orpo/simpo: stages of LLaMA-Factory before 0.8 (now pref_loss)
PREF_LOSSES = {"sigmoid": ("dpo", "sigmoid"), "hinge": ("dpo", "hinge"), "ipo": ("dpo", "ipo"),
               "orpo": ("orpo", None), "simpo": ("simpo", "simpo")}
# LLaMA-Factory's own defaults where they differ from Reins' (its FinetuningArguments)
LORA_RANK, LORA_DROPOUT, PREF_BETA = 8, 0.0, 0.1
QUANTIZATION = {4: "4bit", 8: "8bit"}
ATTENTION = {"auto": "auto", "disabled": "eager", "sdpa": "sdpa", "fa2": "flash_attention_2"}
DATA_NOTE = "a LLaMA-Factory dataset name (see its dataset_info.json): point data.train at the file itself"
REASONS = {
    "template": "Reins formats chats with the tokenizer's own chat template",
    "overwrite_output_dir": "Reins writes each run to its own folder (runs/<id>/)",
    "do_train": "a Reins run always trains",
    "plot_loss": "Reins records every metric in events.jsonl (`reins watch`, the TUI chart them)",
    "report_to": "no tracker setting in this version of Reins",
    "adapter_name_or_path": "Reins starts from a model, not an adapter: merge it first (or use run:<id>)",
    "eval_strategy": "Reins evaluates every train.eval_steps (or once at the end)",
    "evaluation_strategy": "Reins evaluates every train.eval_steps (or once at the end)",
}


def method(m: Mapper) -> str:
    stage = m.get("stage", "sft")
    m.used.add("stage")
    if stage not in STAGES:
        m.refuse(f"stage {stage!r} has no Reins method (Reins imports {', '.join(STAGES)}).")
    name, loss = STAGES[stage], None
    m.used.add("pref_loss")
    if stage == "dpo":
        pref_loss = m.get("pref_loss", "sigmoid")
        if pref_loss not in PREF_LOSSES:
            m.refuse(f"pref_loss {pref_loss!r} has no Reins equivalent (supported: {', '.join(PREF_LOSSES)}).")
        name, loss = PREF_LOSSES[pref_loss]
        m.record("pref_loss", "method.name", name)
    m.put("method.name", name)
    m.record("stage", "method.name", name)
    if loss and name == "dpo":
        m.put("method.loss_type", loss)
    elif m.has("pref_loss") and stage != "dpo":
        m.reject("pref_loss", f"only read with stage dpo (this is {stage})")
    return name


def _model(m: Mapper) -> None:
    m.take("model_name_or_path", "model.name")
    m.take("trust_remote_code", "model.trust_remote_code", bool)
    m.take("flash_attn", "model.attn_implementation", choice(ATTENTION, "model.attn_implementation"))
    method = m.get("quantization_method", "bnb")
    m.used.add("quantization_method")
    if method != "bnb":
        m.drop("quantization_bit", f"Reins quantizes with bitsandbytes only (quantization_method is {method})")
        m.drop("quantization_method", "Reins quantizes with bitsandbytes only")
    elif m.take("quantization_bit", "model.quantization", _quantization) and m.has("quantization_method"):
        m.record("quantization_method", "model.quantization", m.recipe["model"]["quantization"])


def _quantization(value: Any) -> str:
    bits = whole(value)
    if bits not in QUANTIZATION:
        raise Unsupported(f"Reins quantizes to 4 or 8 bits (bitsandbytes), not {bits}")
    return QUANTIZATION[bits]


def _lora(m: Mapper) -> None:
    kind = m.get("finetuning_type", "lora")
    m.used.add("finetuning_type")
    if kind == "full":
        m.put("lora", None)
        m.record("finetuning_type", "lora", None)
        for key in ("lora_rank", "lora_alpha", "lora_dropout", "lora_target"):
            m.drop(key, "finetuning_type is full: no adapter")
        return
    if kind != "lora":
        m.refuse(f"finetuning_type {kind!r} has no Reins equivalent (Reins trains LoRA adapters or the full model).")
    if m.has("finetuning_type"):
        m.record("finetuning_type", "lora", "(section)")
    if not m.take("lora_rank", "lora.r", whole):
        m.default("lora.r", LORA_RANK, "LLaMA-Factory's default lora_rank")
    rank = m.recipe["lora"]["r"]
    if not m.take("lora_alpha", "lora.alpha", number):
        m.default("lora.alpha", 2 * rank, "LLaMA-Factory's default lora_alpha: 2 × lora_rank")
    if not m.take("lora_dropout", "lora.dropout", number):
        m.default("lora.dropout", LORA_DROPOUT, "LLaMA-Factory's default lora_dropout")
    if not m.take("lora_target", "lora.target_modules", _targets):
        m.default("lora.target_modules", "all-linear", "LLaMA-Factory's default lora_target: all")


def _targets(value: Any) -> str | list[str]:
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    return "all-linear" if names == ["all"] else names


def _data(m: Mapper) -> None:
    for key, target in (("dataset", "data.train"), ("eval_dataset", "data.eval")):
        if m.take(key, target, first_dataset, note=DATA_NOTE):
            rest = [n.strip() for n in str(m.source[key]).split(",") if n.strip()][1:]
            if rest:
                m.reject(key, f"Reins trains on one source; not imported: {', '.join(rest)}")
    m.take("val_size", "data.eval_fraction", fraction)
    m.take("max_samples", "data.max_rows", whole)
    m.drop("dataset_dir", "Reins reads data files directly (data.train), not a dataset_info.json folder")


def _train(m: Mapper) -> None:
    shared_training_arguments(m, {
        "cutoff_len": ("train.max_length", whole), "per_device_train_batch_size": ("train.batch_size", whole),
        "per_device_eval_batch_size": ("train.eval_batch_size", whole), "num_train_epochs": ("train.epochs", number),
        "lr_scheduler_type": ("train.lr_scheduler", lr_scheduler), "optim": ("train.optimizer", optimizer)})
    for key in ("bf16", "fp16"):
        m.flag(key, "train.precision", key)
    if not m.take("disable_gradient_checkpointing", "train.gradient_checkpointing", lambda v: not v):
        m.default("train.gradient_checkpointing", True, "LLaMA-Factory checkpoints gradients unless disabled")


def method_settings(m: Mapper, name: str) -> None:
    beta = {"dpo": "method.beta", "kto": "method.beta", "orpo": "method.beta", "simpo": "method.beta"}.get(name)
    if beta and not m.take("pref_beta", beta, number):
        m.default(beta, PREF_BETA, "LLaMA-Factory's default pref_beta")
    elif not beta:
        m.drop("pref_beta", f"not used by {name}")
    if name == "dpo":
        m.take("pref_ftx", "method.sft_weight", number)
    if name == "simpo":
        m.take("simpo_gamma", "method.simpo_gamma", number)
    if name == "kto":
        m.take("kto_chosen_weight", "method.desirable_weight", number)
        m.take("kto_rejected_weight", "method.undesirable_weight", number)
    if name == "ppo":
        m.take("reward_model", "method.reward_model", str)
        if m.get("reward_model_type") == "api":
            m.drop("reward_model_type", "Reins' reward model is a local model, not an API")
        else:
            m.used.add("reward_model_type")
        m.take("ppo_epochs", "method.num_ppo_epochs", whole)
        m.take("ppo_whiten_rewards", "method.whiten_rewards", bool)
        m.take("max_new_tokens", "method.response_length", whole)
        m.take("temperature", "method.temperature", number)


SECTIONS = (_model, _lora, _data, _train)

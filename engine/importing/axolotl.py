"""Axolotl training configs (`axolotl train FILE.yml`: one flat mapping, `rl:` picks a preference method, `datasets:`
lists the data) as Reins recipes."""

from __future__ import annotations

from typing import Any

from engine.importing.mapping import (
    Mapper,
    Unmapped,
    Unsupported,
    choice,
    fraction,
    lr_scheduler,
    number,
    optimizer,
    shared_training_arguments,
    whole,
)

# rl → Reins method and DPO loss type (absent: SFT, or a reward model with `reward_model: true`)
RL = {"dpo": ("dpo", None), "ipo": ("dpo", "ipo"), "orpo": ("orpo", None), "kto": ("kto", None),
      "simpo": ("simpo", None)}
ATTENTION = {"flash_attention_2": "flash_attention_2", "sdpa": "sdpa", "eager": "eager"}
DATA_NOTE = "the first dataset's path: a hub dataset must already be in the local cache (Reins never downloads)"
REASONS = {
    "chat_template": "Reins formats chats with the tokenizer's own chat template",
    "dataset_prepared_path": "Reins prepares the data in each run",
    "special_tokens": "Reins uses the tokenizer as saved with the model",
    "tokens": "Reins uses the tokenizer as saved with the model",
    "model_type": "Reins reads the architecture from the model's config.json (the method sets the task)",
    "tokenizer_type": "Reins loads the model's own tokenizer",
    "num_labels": "a Reins reward model always has one output",
    "fsdp": "Reins writes its own FSDP config: set distributed.strategy fsdp",
    "fsdp_config": "Reins writes its own FSDP config: set distributed.strategy fsdp",
    "evals_per_epoch": "Reins evaluates every train.eval_steps (in steps, not per epoch)",
    "saves_per_epoch": "Reins saves every train.save_steps (in steps, not per epoch)",
    "lora_model_dir": "Reins starts from a model, not an adapter: merge it first (or use run:<id>)",
    "gradient_checkpointing_kwargs": "Reins picks the checkpointing variant itself",
    "tf32": "Reins sets no TF32 switch (a speed setting of the GPU, not of the recipe)",
}


def method(m: Mapper) -> str:
    rl = m.get("rl")
    m.used.update(("rl", "reward_model", "process_reward_model"))
    if m.get("process_reward_model"):
        m.refuse("process_reward_model has no Reins method (Reins trains outcome reward models: `rm`).")
    if rl is not None:
        if rl not in RL:
            m.refuse(f"rl: {rl!r} has no Reins method here (Reins imports rl: {', '.join(RL)}; without rl: SFT, "
                     "or a reward model with reward_model: true).")
        name, loss = RL[rl]
        m.put("method.name", name)
        m.record("rl", "method.name", name)
        if loss:
            m.put("method.loss_type", loss)
            m.record("rl", "method.loss_type", loss)
        return name
    name = "rm" if m.get("reward_model") is True else "sft"
    m.put("method.name", name)
    if name == "rm":
        m.record("reward_model", "method.name", name)
    else:
        m.default("method.name", name, "no rl: and no reward_model: supervised fine-tuning")
    return name


def _model(m: Mapper) -> None:
    m.take("base_model", "model.name")
    m.take("trust_remote_code", "model.trust_remote_code", bool)
    m.take("attn_implementation", "model.attn_implementation", choice(ATTENTION, "model.attn_implementation"))
    for key, kernel in (("flash_attention", "flash_attention_2"), ("sdp_attention", "sdpa")):
        m.flag(key, "model.attn_implementation", kernel)
    for key, bits in (("load_in_4bit", "4bit"), ("load_in_8bit", "8bit")):
        m.flag(key, "model.quantization", bits)
    m.used.add("adapter")
    if m.get("adapter") == "qlora" and m.recipe.get("model", {}).get("quantization") != "4bit":
        m.put("model.quantization", "4bit")
        m.record("adapter", "model.quantization", "4bit", "QLoRA: LoRA on a 4-bit base")


def _lora(m: Mapper) -> None:
    adapter = m.get("adapter")
    lora_keys = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_linear", "lora_target_modules")
    if adapter is None:
        m.put("lora", None)
        m.default("lora", None, "no adapter: full fine-tuning")
        for key in lora_keys:
            m.drop(key, "no adapter: full fine-tuning")
        return
    if adapter not in ("lora", "qlora"):
        m.refuse(f"adapter {adapter!r} has no Reins equivalent (Reins trains LoRA/QLoRA adapters or the full "
                 "model).")
    m.record("adapter", "lora", "(section)")
    m.take("lora_r", "lora.r", whole)
    m.take("lora_alpha", "lora.alpha", number)
    m.take("lora_dropout", "lora.dropout", number)
    if m.flag("lora_target_linear", "lora.target_modules", "all-linear"):
        m.drop("lora_target_modules", "lora_target_linear already targets every linear layer")
    else:
        m.take("lora_target_modules", "lora.target_modules", _module_list)


def _module_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unsupported("expected a list of module names")
    return list(value)


def _data(m: Mapper) -> None:
    """The first dataset's path and split; its prompt format and column options are listed, not guessed."""
    for key, target in (("datasets", "data"), ("test_datasets", "data.eval")):
        m.used.add(key)
        sets = m.get(key)
        if not sets:
            continue
        if not isinstance(sets, list) or not isinstance(sets[0], dict) or not sets[0].get("path"):
            m.reject(key, "expected a list of datasets, each with a path")
            continue
        first = sets[0]
        if key == "datasets":
            m.put("data.train", str(first["path"]))
            m.record(key, "data.train", str(first["path"]), DATA_NOTE)
            if first.get("split"):
                m.put("data.split", str(first["split"]))
                m.record(key, "data.split", str(first["split"]))
        else:
            m.put(target, str(first["path"]))
            m.record(key, target, str(first["path"]))
        details = {k: v for k, v in first.items() if k not in ("path", "split") and v not in (None, "")}
        if details:
            m.unmapped.append(Unmapped(f"{key}[0]", details, "Axolotl's prompt format and column options: Reins "
                                       "reads prompt/chosen/rejected or messages columns (rename with data.fields)"))
        if len(sets) > 1:
            rest = ", ".join(str(s.get("path")) for s in sets[1:] if isinstance(s, dict))
            m.unmapped.append(Unmapped(key, rest, "Reins trains on one source; not imported: " + rest))
    m.take("val_set_size", "data.eval_fraction", fraction)


def _train(m: Mapper) -> None:
    shared_training_arguments(m, {
        "sequence_len": ("train.max_length", whole), "micro_batch_size": ("train.batch_size", whole),
        "eval_batch_size": ("train.eval_batch_size", whole), "num_epochs": ("train.epochs", number),
        "lr_scheduler": ("train.lr_scheduler", lr_scheduler), "optimizer": ("train.optimizer", optimizer),
        "gradient_checkpointing": ("train.gradient_checkpointing", bool)})
    if m.get("bf16") == "auto":
        m.put("train.precision", "auto")
        m.record("bf16", "train.precision", "auto")
    else:
        m.flag("bf16", "train.precision", "bf16")
    m.flag("fp16", "train.precision", "fp16")


def method_settings(m: Mapper, name: str) -> None:
    if name in ("dpo", "kto", "simpo"):
        for key in ("rl_beta", "dpo_beta"):
            m.take(key, "method.beta", number)
    if name == "orpo":
        m.take("orpo_alpha", "method.beta", number, note="ORPO's λ (TRL's ORPOConfig.beta)")
    if name == "simpo":
        m.take("simpo_gamma", "method.simpo_gamma", number)
        m.take("cpo_alpha", "method.cpo_alpha", number)
    if name == "kto":
        m.take("kto_desirable_weight", "method.desirable_weight", number)
        m.take("kto_undesirable_weight", "method.undesirable_weight", number)
    if name == "sft":
        m.take("sample_packing", "method.packing", bool)
        m.take("train_on_inputs", "method.completion_only_loss", lambda v: not v)
    else:
        m.drop("sample_packing", f"only SFT packs examples ({name} trains on whole rows)")


SECTIONS = (_model, _lora, _data, _train)

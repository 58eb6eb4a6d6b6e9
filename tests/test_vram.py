"""The first VRAM estimate: exact parameter counts, LoRA counts equal to PEFT's, terms that respond to settings."""

from __future__ import annotations

import pytest

from engine.models import EMBEDDED_CONFIG
from engine.recipes import load_recipe
from engine.vram import Arch, estimate


def recipe(*overrides: str):
    return load_recipe("dpo", list(overrides)).recipe


def terms(est) -> dict[str, int]:
    return {t.name: t.bytes for t in est.terms}


def test_parameter_count_matches_the_real_model_built_on_meta_device() -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    with torch.device("meta"):
        model = LlamaForCausalLM(LlamaConfig(**EMBEDDED_CONFIG))
    real = sum(p.numel() for p in model.parameters())
    assert Arch.from_config(EMBEDDED_CONFIG).params == real == 134_515_008


@pytest.mark.parametrize("targets", ["all-linear", ["q_proj", "v_proj"], ["gate_proj", "up_proj", "down_proj"]])
def test_lora_count_equals_peft(targets) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = {**EMBEDDED_CONFIG, "num_hidden_layers": 2, "vocab_size": 512}
    with torch.device("meta"):
        model = get_peft_model(LlamaForCausalLM(LlamaConfig(**cfg)),
                               LoraConfig(r=8, target_modules=targets, task_type="CAUSAL_LM"))
    trainable, _ = model.get_nb_trainable_parameters()
    assert Arch.from_config(cfg).lora_params(8, targets) == trainable


def test_dpo_full_fine_tuning_counts_a_reference_copy_and_lora_does_not() -> None:
    lora = terms(estimate(recipe(), EMBEDDED_CONFIG))
    full = terms(estimate(recipe("lora=null"), EMBEDDED_CONFIG))
    pre = terms(estimate(recipe("lora=null", "method.precompute_ref_log_probs=true"), EMBEDDED_CONFIG))
    assert lora["reference model"] == 0
    assert full["reference model"] == full["weights"] > 0
    assert pre["reference model"] == 0
    assert full["optimizer"] > 10 * lora["optimizer"]


def test_checkpointing_shrinks_activations_and_preference_doubles_the_batch() -> None:
    plain = terms(estimate(recipe(), EMBEDDED_CONFIG))
    ckpt = terms(estimate(recipe("train.gradient_checkpointing=true"), EMBEDDED_CONFIG))
    assert ckpt["activations"] < plain["activations"] / 5
    sft = terms(estimate(load_recipe("sft", ["train.batch_size=2", "train.max_length=192"]).recipe, EMBEDDED_CONFIG))
    assert plain["logits"] == 2 * sft["logits"]  # chosen + rejected


def test_four_bit_shrinks_the_linear_weights() -> None:
    big = {**EMBEDDED_CONFIG, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
           "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": False}
    bf16 = terms(estimate(recipe(), big))["weights"]
    nf4 = terms(estimate(recipe("model.quantization=4bit"), big))["weights"]
    assert 0.25 < nf4 / bf16 < 0.4  # ~8B model: embeddings stay 16-bit


def test_verdict_and_suggestions() -> None:
    big = {**EMBEDDED_CONFIG, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
           "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256}
    est = estimate(recipe("lora=null", "train.batch_size=8", "train.max_length=2048"), big, gpu_memory_gib=80)
    assert est.verdict == "won't fit"
    assert len(est.suggestions) == 2
    assert est.suggestions[0]["saves_gib"] >= est.suggestions[1]["saves_gib"] > 0
    small = estimate(recipe(), EMBEDDED_CONFIG, gpu_memory_gib=80)
    assert small.verdict == "fits" and small.suggestions == []
    assert estimate(recipe(), EMBEDDED_CONFIG).verdict is None

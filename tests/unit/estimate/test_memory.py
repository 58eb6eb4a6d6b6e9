"""The first VRAM estimate: exact parameter counts, LoRA counts equal to PEFT's, terms that respond to settings."""

from __future__ import annotations

import pytest

from engine.estimate.fit import estimate
from engine.estimate.memory import Arch
from engine.recipe.loading import load_recipe
from engine.recipe.model_refs import EMBEDDED_CONFIG


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
    assert lora["extra models"] == 0
    assert full["extra models"] == full["weights"] > 0
    assert pre["extra models"] == 0
    assert full["optimizer"] > 10 * lora["optimizer"]


def test_checkpointing_shrinks_activations_and_preference_doubles_the_batch() -> None:
    plain = terms(estimate(recipe(), EMBEDDED_CONFIG))
    ckpt = terms(estimate(recipe("train.gradient_checkpointing=true"), EMBEDDED_CONFIG))
    assert ckpt["activations"] < plain["activations"] / 5
    dpo_len = recipe().train.max_length
    sft = terms(estimate(load_recipe("sft", ["train.batch_size=2", f"train.max_length={dpo_len}"]).recipe,
                         EMBEDDED_CONFIG))
    # chosen + rejected: twice the rows; DPO keeps 4 × 2 B per logit (log-probs), SFT 2 + 4 + 4 B (cross-entropy)
    assert plain["logits"] / 8 == 2 * sft["logits"] / 10


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


# ---- method-aware estimate over the catalogue (issue 4)

from engine.estimate.catalogue import CATALOGUE  # noqa: E402
from engine.estimate.fit import suggest  # noqa: E402
from engine.estimate.memory import GIB, EstimateError, Setup, estimate_setup  # noqa: E402

L8B = Arch.from_config(CATALOGUE["llama-3.1-8b"].config)


def t8(**kw) -> dict[str, int]:
    return terms(estimate_setup(L8B, Setup(**kw)))


def test_preference_methods_double_sequences_and_hold_a_reference_only_when_needed() -> None:
    sft, dpo = t8(method="sft", micro_batch=2), t8(method="dpo", micro_batch=2)
    assert dpo["activations"] > 1.9 * sft["activations"] and dpo["logits"] > sft["logits"]
    assert dpo["extra models"] == dpo["weights"]  # full fine-tuning: a frozen reference copy
    assert t8(method="dpo", precompute_ref_log_probs=True)["extra models"] == 0
    assert t8(method="dpo", lora_r=16)["extra models"] == 0  # adapters toggled off instead
    for method in ("orpo", "simpo", "rm"):  # reference-free
        assert t8(method=method)["extra models"] == 0
    assert t8(method="kto")["extra models"] == t8(method="kto")["weights"]
    assert t8(method="rm")["logits"] < t8(method="dpo")["logits"] / 1000  # scalar head


def test_ppo_holds_four_models_and_grpo_only_a_reference_when_asked() -> None:
    ppo = t8(method="ppo", lora_r=16)
    # reward (frozen, 16-bit) + value (weights, grads, AdamW) even with LoRA on the policy
    assert ppo["extra models"] > 4.5 * ppo["weights"]
    grpo = t8(method="grpo", lora_r=16)
    assert grpo["extra models"] == 0
    assert t8(method="grpo", reference=True)["extra models"] == t8(method="grpo")["weights"]
    long = t8(method="grpo", lora_r=16, micro_batch=16, max_length=8192, gradient_checkpointing=True)
    kv = 2 * L8B.layers * L8B.kv_dim * 2 * 16 * 8192
    assert long["activations"] >= kv  # generation's KV cache


def test_quantization_levels_and_double_quant() -> None:
    none, q8 = t8(lora_r=16)["weights"], t8(lora_r=16, quantization="8bit")["weights"]
    nf4, nf4_plain = t8(lora_r=16, quantization="4bit")["weights"], t8(lora_r=16, quantization="4bit",
                                                                           double_quant=False)["weights"]
    assert none > q8 > nf4_plain > nf4
    saved = (nf4_plain - nf4) / (L8B.linear_params)
    assert 0.04 < saved < 0.05  # double quant saves ≈ 0.37 bits per weight: 4/64 − (1/64 + 4/16384) B
    lin = L8B.linear_params
    assert abs(none - nf4 - lin * (2 - 0.5 - 1 / 64 - 4 / 16384)) < lin * 1e-6


def test_optimisers_and_adapter_dtypes() -> None:
    full = t8()
    assert full["optimizer"] == 2 * full["gradients"] == 4 * L8B.params  # AdamW m and v in bf16
    assert t8(optimizer="adamw_8bit")["optimizer"] == 2 * L8B.params
    assert t8(optimizer="sgd")["optimizer"] == 0
    lora = t8(lora_r=16)
    n = L8B.lora_params(16, "all-linear")
    assert lora["trainable states"] == 4 * n and lora["optimizer"] == 8 * n  # PEFT's fp32 adapters
    qlora = t8(lora_r=16, quantization="4bit")
    assert qlora["trainable states"] == 2 * n  # TRL casts QLoRA adapters to bf16


def test_sharding_divides_what_each_zero_stage_shards() -> None:
    one, z1, z2, z3 = t8(), t8(gpus=8, strategy="zero1"), t8(gpus=8, strategy="zero2"), t8(gpus=8, strategy="zero3")
    assert z1["optimizer"] == one["optimizer"] // 8 and z1["gradients"] == one["gradients"]
    assert z2["gradients"] == one["gradients"] // 8
    assert one["weights"] / 8 < z3["weights"] < one["weights"] / 4  # a shard plus two gathered layers
    assert t8(gpus=8, strategy="fsdp") == z3
    assert t8(gpus=2)["gradients"] == 2 * one["gradients"]  # DDP buckets


def test_liger_and_checkpointing_shrink_what_they_should() -> None:
    base, liger = t8(lora_r=16, max_length=4096), t8(lora_r=16, max_length=4096, liger=True)
    assert liger["logits"] < base["logits"] / 10
    assert liger["activations"] < base["activations"]
    ckpt = t8(lora_r=16, max_length=4096, gradient_checkpointing=True)
    assert ckpt["activations"] < base["activations"] / 5
    eager = t8(lora_r=16, max_length=4096, attention="eager")
    assert eager["activations"] > base["activations"]


def test_suggestions_prefer_changes_that_make_it_fit() -> None:
    setup = Setup(method="dpo", micro_batch=1, max_length=512, gradient_checkpointing=True)
    est = estimate_setup(L8B, setup, gpu_memory_gib=80)
    tips = suggest(L8B, setup, est.total_bytes, 80)
    assert len(tips) == 2 and all(t["saves_gib"] > 0 for t in tips)
    assert tips[0]["saves_gib"] >= tips[1]["saves_gib"]
    assert any("4bit" in " ".join(t["set"]) for t in tips)
    small = Setup(method="sft", lora_r=16, micro_batch=8, max_length=2048)
    gpu = estimate_setup(L8B, Setup(**{**small.__dict__, "gradient_checkpointing": True})).total_gib / 0.8
    tip = suggest(L8B, small, estimate_setup(L8B, small).total_bytes, gpu)[0]
    assert tip["change"] == "gradient checkpointing" and tip["fits"] and tip["total_gib"] <= 0.85 * gpu


def test_impossible_setups_are_refused() -> None:
    for bad in (dict(micro_batch=0), dict(max_length=-1), dict(method="sppo"), dict(optimizer="adam"),
                dict(strategy="zero4"), dict(quantization="4bit"), dict(gpus=0), dict(lora_r=-2)):
        with pytest.raises(EstimateError):
            estimate_setup(L8B, Setup(**bad))


def test_recipe_options_and_catalogue_model_via_the_api() -> None:
    from engine.api import estimate_recipe

    est = estimate_recipe("sft", ["lora=null"], gpu_memory_gib=24, model="llama-3.1-8b", liger=True)
    assert est.params == L8B.params and est.assumptions["liger"] is True
    assert est.verdict == "won't fit" and est.suggestions
    est = estimate_recipe("dpo", [], model="meta-llama/Llama-3.2-1B-Instruct", gpus=4, strategy="zero2")
    assert est.assumptions["gpus"] == 4 and est.total_gib > 0


def test_worker_records_the_estimate_beside_the_peak(tmp_path) -> None:
    import json

    from engine.runs.rundir import RunDir
    from engine.worker.main import _estimate_figures

    rd = RunDir(tmp_path)
    assert _estimate_figures(rd) == {}
    est = estimate(recipe(), EMBEDDED_CONFIG)
    rd.estimate.write_text(json.dumps(est.to_dict()))
    figures = _estimate_figures(rd)
    assert figures["estimate_total_gib"] == round(est.total_gib, 3)
    assert figures["estimate_allocator_gib"] == round(est.allocator_bytes / GIB, 3)


@pytest.mark.parametrize("name", ["smollm2-135m", "qwen2.5-7b", "gemma-2-9b", "phi-3-mini"])
def test_every_term_grows_with_batch_and_length_and_totals_add_up(name: str) -> None:
    arch = Arch.from_config(CATALOGUE[name].config)
    for method in ("sft", "dpo", "kto", "orpo", "rm", "ppo", "grpo", "rloo"):
        small = estimate_setup(arch, Setup(method=method, lora_r=16, micro_batch=1, max_length=256))
        wide = estimate_setup(arch, Setup(method=method, lora_r=16, micro_batch=4, max_length=256))
        long = estimate_setup(arch, Setup(method=method, lora_r=16, micro_batch=1, max_length=1024))
        for t in ("activations", "logits"):
            assert wide.term(t).bytes > small.term(t).bytes and long.term(t).bytes > small.term(t).bytes
        for t in ("weights", "optimizer", "extra models"):
            assert wide.term(t).bytes == small.term(t).bytes == long.term(t).bytes
        assert small.total_bytes == sum(t.bytes for t in small.terms) > small.allocator_bytes > 0

"""Will a recipe fit: its estimate against a GPU size, and the changes that would save the most when it does not."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.estimate.arch import Arch
from engine.estimate.memory import (
    GIB,
    Estimate,
    Setup,
    check_gpu_memory,
    estimate_setup,
    setup_from_recipe,
    verdict_for,
)
from engine.recipe.defaults import LORA_DROPOUT, LORA_RANK
from engine.recipe.methods import METHODS
from engine.recipe.schema import Recipe
from engine.recipe.trl_settings import setting_path


def _candidates(s: Setup) -> list[tuple[str, Setup, list[str], list[str]]]:
    """(label, changed setup, --set overrides, CLI flags) for each memory-saving change that applies."""
    out: list[tuple[str, Setup, list[str], list[str]]] = []
    if not s.gradient_checkpointing:
        out.append(("gradient checkpointing", replace(s, gradient_checkpointing=True),
                    ["train.gradient_checkpointing=true"], []))
    if s.lora_r is None:
        out.append((f"LoRA r={LORA_RANK} instead of full fine-tuning",
                    replace(s, lora_r=LORA_RANK, lora_dropout=LORA_DROPOUT), [f"lora.r={LORA_RANK}"], []))
    if s.quantization != "4bit":
        r = s.lora_r or LORA_RANK
        out.append(("4-bit base weights (QLoRA)", replace(s, quantization="4bit", lora_r=r),
                    ["model.quantization=4bit"] + ([] if s.lora_r else [f"lora.r={r}"]), []))
    if s.optimizer in ("adamw_torch", "adamw_torch_fused", "paged_adamw_32bit"):
        out.append(("8-bit AdamW", replace(s, optimizer="adamw_8bit"), ["train.optimizer=adamw_8bit"], []))
    spec = METHODS[s.method]
    precompute = setting_path(s.method, "precompute_ref_log_probs")  # method.* for DPO, method.trl.* for KTO
    if (spec.reference if s.reference is None else s.reference) and s.lora_r is None \
            and not s.precompute_ref_log_probs and precompute:
        out.append(("precompute reference log-probs", replace(s, precompute_ref_log_probs=True),
                    [f"{precompute}=true"], []))
    liger = setting_path(s.method, "use_liger_kernel")
    if not s.liger and liger:
        out.append(("Liger kernels", replace(s, liger=True), [f"{liger}=true"], []))
    if s.micro_batch > 1:
        out.append((f"batch_size {s.micro_batch // 2} with grad_accum ×2", replace(s, micro_batch=s.micro_batch // 2),
                    [f"train.batch_size={s.micro_batch // 2}", "train.grad_accum=<double it>"], []))
    if s.gpus > 1 and s.strategy not in ("zero3", "fsdp"):
        out.append(("ZeRO-3 sharding across the GPUs", replace(s, strategy="zero3"), [], ["--strategy zero3"]))
    return out


def suggest(arch: Arch, setup: Setup, baseline: int, gpu_memory_gib: float | None = None,
            top: int = 2) -> list[dict[str, Any]]:
    """The changes that save the most memory (those that make it fit first), each with its saving and how to ask."""
    results = []
    for label, changed, sets, flags in _candidates(setup):
        total = estimate_setup(arch, changed).total_bytes
        saved = baseline - total
        if saved <= 0:
            continue
        fits = bool(gpu_memory_gib) and verdict_for(total / GIB, gpu_memory_gib) == "fits"
        results.append({"change": label, "saves_gib": round(saved / GIB, 2), "total_gib": round(total / GIB, 2),
                        "fits": fits, "set": sets, "flags": flags})
    results.sort(key=lambda r: (not r["fits"], -r["saves_gib"]))
    return results[:top]


def suggest_for_recipe(recipe: Recipe, config: dict[str, Any], baseline: int,
                       gpu_memory_gib: float | None = None) -> list[dict[str, Any]]:
    """`suggest` for a recipe and a config.json (what a failed run's OOM message quotes)."""
    return suggest(Arch.from_config(config), setup_from_recipe(recipe), baseline, gpu_memory_gib)


def estimate(recipe: Recipe, config: dict[str, Any], gpu_memory_gib: float | None = None,
             with_suggestions: bool = True, **options: Any) -> Estimate:
    """Peak memory per GPU for training `recipe` on the architecture in `config` (options: see Setup)."""
    check_gpu_memory(gpu_memory_gib)
    arch = Arch.from_config(config)
    setup = setup_from_recipe(recipe, **options)
    est = estimate_setup(arch, setup, gpu_memory_gib)
    if with_suggestions and gpu_memory_gib and est.verdict != "fits":
        est.suggestions = suggest(arch, setup, est.total_bytes, gpu_memory_gib)
    return est

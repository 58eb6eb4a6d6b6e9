"""The built-in catalogue: parameter counts equal the real transformers models', LoRA counts equal PEFT's."""

from __future__ import annotations

import pytest

from engine.errors import ModelNotFoundError
from engine.estimate.arch import Arch, ArchitectureError
from engine.estimate.catalogue import CATALOGUE, find, lookup


def meta_model(config: dict):
    """The real transformers model for `config`, built on the meta device (no weights, no download)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = dict(config)
    model_type = cfg.pop("model_type")
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **cfg))


def test_catalogue_covers_popular_models_from_0_1b_to_70b() -> None:
    sizes = [Arch.from_config(e.config).params for e in CATALOGUE.values()]
    assert len(CATALOGUE) >= 15
    assert min(sizes) < 0.2e9 and max(sizes) > 70e9
    families = {e.config["model_type"] for e in CATALOGUE.values()}
    assert {"llama", "qwen2", "mistral", "gemma2", "phi3"} <= families


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_parameter_count_matches_the_meta_device_model(name: str) -> None:
    entry = CATALOGUE[name]
    real = sum(p.numel() for p in meta_model(entry.config).parameters())
    estimated = Arch.from_config(entry.config).params
    assert abs(estimated - real) / real < 0.005, (estimated, real)
    # The config numbers themselves are checked against the size the model card states.
    assert abs(real / 1e9 - entry.published_params_b) / entry.published_params_b < 0.01


LORA_CASES = [
    ("llama-3.2-1b", "all-linear"),
    ("llama-3.2-1b", ["q_proj", "v_proj"]),
    ("qwen2.5-0.5b", ["q_proj", "k_proj", "v_proj", "o_proj"]),
    ("qwen2.5-0.5b", "all-linear"),
    ("qwen3-0.6b", ["gate_proj", "up_proj", "down_proj"]),
    ("gemma-2-2b", "all-linear"),
    ("phi-3-mini", "all-linear"),
    ("phi-3-mini", ["qkv_proj", "o_proj"]),
    ("mistral-7b", ["q_proj", "v_proj", "lm_head"]),
    ("smollm2-135m", ["q_proj", "embed_tokens"]),
    ("llama-3.2-1b", ["q_proj", "gate_up_proj"]),  # one name this family lacks: PEFT adapts the rest
]


@pytest.mark.parametrize(("name", "targets"), LORA_CASES, ids=[f"{n}-{t}" for n, t in LORA_CASES])
@pytest.mark.parametrize("r", [8, 64])
def test_lora_trainable_count_equals_peft(name: str, targets, r: int) -> None:
    from peft import LoraConfig, get_peft_model

    cfg = {**CATALOGUE[name].config, "num_hidden_layers": 2}  # real widths, fewer layers: same per-layer maths
    model = get_peft_model(meta_model(cfg), LoraConfig(r=r, target_modules=targets, task_type="CAUSAL_LM"))
    trainable, _ = model.get_nb_trainable_parameters()
    assert Arch.from_config(cfg).lora_params(r, targets) == trainable


def test_lookup_by_name_alias_and_hub_id() -> None:
    assert find("Llama-3.1-8B") is CATALOGUE["llama-3.1-8b"]
    assert find("meta-llama/Llama-3.3-70B-Instruct") is CATALOGUE["llama-3.1-70b"]
    assert find("Qwen2.5-7B-Instruct") is CATALOGUE["qwen2.5-7b"]
    assert find("nothing-like-this") is None
    with pytest.raises(ModelNotFoundError, match="llama-3.1-8b"):
        lookup("gpt-5")


def test_unusable_configs_are_clear_errors() -> None:
    with pytest.raises(ArchitectureError, match="hidden_size"):
        Arch.from_config({"model_type": "llama", "num_hidden_layers": 2})
    with pytest.raises(ArchitectureError, match="non-positive"):
        Arch.from_config({**CATALOGUE["llama-3.2-1b"].config, "intermediate_size": -1})
    with pytest.raises(ArchitectureError, match="mixture of experts"):
        Arch.from_config({**CATALOGUE["mistral-7b"].config, "num_local_experts": 8})
    with pytest.raises(ArchitectureError, match="gate_up_proj"):
        Arch.from_config(CATALOGUE["phi-3-mini"].config).lora_params(8, ["q_proj"])

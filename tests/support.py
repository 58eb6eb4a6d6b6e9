"""Test helpers: a tiny randomly initialised Llama with the embedded model's tokenizer, and recipe writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from engine.paths import BUNDLED_RECIPES

TINY_CONFIG = {
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "max_position_embeddings": 512,
}


def embedded_tokenizer():
    """SmolLM2's tokenizer (with its chat template), from the converted cache or straight from the GGUF file."""
    from transformers import AutoTokenizer

    from engine.recipe.model_refs import embedded_gguf, embedded_model_dir

    cached = embedded_model_dir()
    if (cached / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(cached)
    gguf = embedded_gguf()
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def build_tiny_model(target: Path, seed: int = 0) -> Path:
    """A 2-layer Llama (random weights, ~1.6M params) saved with a real tokenizer and chat template."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = embedded_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), tie_word_embeddings=True, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **TINY_CONFIG)
    model = LlamaForCausalLM(config)
    model.save_pretrained(target)
    tok.save_pretrained(target)
    return target


def write_recipe(path: Path, base: str, model: Path | str, **sections: dict[str, Any]) -> Path:
    """A recipe derived from a bundled one (`base`), with the model swapped and sections updated."""
    raw = yaml.safe_load((BUNDLED_RECIPES / f"{base}.yaml").read_text())
    raw["model"]["name"] = str(model)
    for key in ("train", "eval"):
        if raw["data"].get(key):
            raw["data"][key] = str(BUNDLED_RECIPES / raw["data"][key])
    for name, values in sections.items():
        if values is None:
            raw[name] = None
        else:
            raw.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(raw))
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def wait_until(predicate, timeout: float = 240, poll: float = 0.3, what: str = "condition"):  # noqa: ANN001
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"{what}: not met within {timeout}s")

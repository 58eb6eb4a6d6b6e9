"""The few settings that tell two runs of one method apart: β and loss type, learning rate, LoRA rank, quantization…"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.recipe.defaults import LORA_RANK
from engine.recipe.methods import method_spec


def key_settings(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The key settings of a recipe given as plain data (a validated recipe's dump or its YAML): the method's own
    keys and any `method.trl` field, then `lr`, `lora_r` (None = full fine-tuning) and `quantization` when the model
    is quantized."""
    method = recipe.get("method") or {}
    spec = method_spec(str(method.get("name")))
    out: dict[str, Any] = {k: method[k] for k in (spec.key_settings if spec else ()) if method.get(k) is not None}
    out.update({f"trl.{k}": v for k, v in (method.get("trl") or {}).items()})  # set on purpose, so it tells runs apart
    train = recipe.get("train") or {}
    if train.get("learning_rate") is not None:
        out["lr"] = train["learning_rate"]
    lora = recipe.get("lora", {})  # absent: the schema's default adapter; null: LoRA off
    out["lora_r"] = lora.get("r", LORA_RANK) if isinstance(lora, Mapping) else None
    quantization = (recipe.get("model") or {}).get("quantization")
    if quantization and quantization != "none":
        out["quantization"] = quantization
    return out

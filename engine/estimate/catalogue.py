"""Built-in catalogue of popular open architectures, so a VRAM estimate needs no download (config numbers only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import ModelNotFoundError
from engine.estimate.arch import Arch
from engine.recipe.model_refs import resolve_model


@dataclass(frozen=True)
class CatalogueEntry:
    """One architecture: the `config.json` fields memory depends on, its hub ids and its published size."""

    name: str
    config: dict[str, Any]
    hub_ids: tuple[str, ...]
    published_params_b: float  # size the model card states, in billions (a cross-check of the numbers below)
    note: str = ""
    aliases: tuple[str, ...] = field(default=())


def _llama(hidden: int, inter: int, layers: int, heads: int, kv: int, vocab: int, tied: bool,
           model_type: str = "llama", **extra: Any) -> dict[str, Any]:
    return {"model_type": model_type, "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kv, "vocab_size": vocab,
            "tie_word_embeddings": tied, **extra}


_ENTRIES = [
    CatalogueEntry("smollm2-135m", _llama(576, 1536, 30, 9, 3, 49152, True),
                   ("HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct"), 0.135,
                   aliases=("smollm2-135m-instruct",)),
    CatalogueEntry("smollm2-360m", _llama(960, 2560, 32, 15, 5, 49152, True),
                   ("HuggingFaceTB/SmolLM2-360M", "HuggingFaceTB/SmolLM2-360M-Instruct"), 0.362),
    CatalogueEntry("smollm2-1.7b", _llama(2048, 8192, 24, 32, 32, 49152, True),
                   ("HuggingFaceTB/SmolLM2-1.7B", "HuggingFaceTB/SmolLM2-1.7B-Instruct"), 1.71),
    CatalogueEntry("qwen2.5-0.5b", _llama(896, 4864, 24, 14, 2, 151936, True, "qwen2"),
                   ("Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B-Instruct"), 0.494),
    CatalogueEntry("qwen2.5-1.5b", _llama(1536, 8960, 28, 12, 2, 151936, True, "qwen2"),
                   ("Qwen/Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B-Instruct"), 1.54),
    CatalogueEntry("qwen2.5-3b", _llama(2048, 11008, 36, 16, 2, 151936, True, "qwen2"),
                   ("Qwen/Qwen2.5-3B", "Qwen/Qwen2.5-3B-Instruct"), 3.09),
    CatalogueEntry("qwen2.5-7b", _llama(3584, 18944, 28, 28, 4, 152064, False, "qwen2"),
                   ("Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct"), 7.61),
    CatalogueEntry("qwen2.5-14b", _llama(5120, 13824, 48, 40, 8, 152064, False, "qwen2"),
                   ("Qwen/Qwen2.5-14B", "Qwen/Qwen2.5-14B-Instruct"), 14.7),
    CatalogueEntry("qwen2.5-32b", _llama(5120, 27648, 64, 40, 8, 152064, False, "qwen2"),
                   ("Qwen/Qwen2.5-32B", "Qwen/Qwen2.5-32B-Instruct"), 32.5),
    CatalogueEntry("qwen2.5-72b", _llama(8192, 29568, 80, 64, 8, 152064, False, "qwen2"),
                   ("Qwen/Qwen2.5-72B", "Qwen/Qwen2.5-72B-Instruct"), 72.7),
    CatalogueEntry("qwen3-0.6b", _llama(1024, 3072, 28, 16, 8, 151936, True, "qwen3", head_dim=128),
                   ("Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B-Base"), 0.596),
    CatalogueEntry("qwen3-8b", _llama(4096, 12288, 36, 32, 8, 151936, False, "qwen3", head_dim=128),
                   ("Qwen/Qwen3-8B", "Qwen/Qwen3-8B-Base"), 8.19),
    CatalogueEntry("llama-3.2-1b", _llama(2048, 8192, 16, 32, 8, 128256, True, head_dim=64),
                   ("meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B-Instruct"), 1.24),
    CatalogueEntry("llama-3.2-3b", _llama(3072, 8192, 28, 24, 8, 128256, True, head_dim=128),
                   ("meta-llama/Llama-3.2-3B", "meta-llama/Llama-3.2-3B-Instruct"), 3.21),
    CatalogueEntry("llama-3.1-8b", _llama(4096, 14336, 32, 32, 8, 128256, False),
                   ("meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct",
                    "meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B-Instruct"), 8.03,
                   aliases=("llama-3-8b",)),
    CatalogueEntry("llama-3.1-70b", _llama(8192, 28672, 80, 64, 8, 128256, False),
                   ("meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-70B-Instruct",
                    "meta-llama/Llama-3.3-70B-Instruct"), 70.6, aliases=("llama-3.3-70b", "llama-3-70b")),
    CatalogueEntry("mistral-7b", _llama(4096, 14336, 32, 32, 8, 32768, False, "mistral"),
                   ("mistralai/Mistral-7B-v0.3", "mistralai/Mistral-7B-Instruct-v0.3"), 7.25,
                   note="v0.3 vocabulary (32768); v0.1/v0.2 use 32000"),
    CatalogueEntry("gemma-2-2b", _llama(2304, 9216, 26, 8, 4, 256000, True, "gemma2", head_dim=256),
                   ("google/gemma-2-2b", "google/gemma-2-2b-it"), 2.61),
    CatalogueEntry("gemma-2-9b", _llama(3584, 14336, 42, 16, 8, 256000, True, "gemma2", head_dim=256),
                   ("google/gemma-2-9b", "google/gemma-2-9b-it"), 9.24),
    CatalogueEntry("gemma-2-27b", _llama(4608, 36864, 46, 32, 16, 256000, True, "gemma2", head_dim=128),
                   ("google/gemma-2-27b", "google/gemma-2-27b-it"), 27.2),
    CatalogueEntry("phi-3-mini", _llama(3072, 8192, 32, 32, 32, 32064, False, "phi3"),
                   ("microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3.5-mini-instruct"), 3.82,
                   aliases=("phi-3.5-mini",)),
    CatalogueEntry("phi-3-medium", _llama(5120, 17920, 40, 40, 10, 32064, False, "phi3"),
                   ("microsoft/Phi-3-medium-4k-instruct",), 14.0),
]

CATALOGUE: dict[str, CatalogueEntry] = {e.name: e for e in _ENTRIES}


def _key(text: str) -> str:
    return text.strip().lower()


_INDEX: dict[str, CatalogueEntry] = {}
for _e in _ENTRIES:
    for _k in (_e.name, *_e.aliases, *_e.hub_ids, *(h.split("/", 1)[1] for h in _e.hub_ids)):
        _INDEX[_key(_k)] = _e


def find(ref: str) -> CatalogueEntry | None:
    """The entry for a catalogue name, alias or hub id (case-insensitive), or None."""
    return _INDEX.get(_key(ref))


def lookup(ref: str) -> CatalogueEntry:
    """The entry for `ref`, or a ModelNotFoundError that lists what the catalogue knows."""
    entry = find(ref)
    if entry is None:
        raise ModelNotFoundError(
            f"Unknown architecture {ref!r}: it is not a model on this machine and not in the built-in catalogue. "
            f"Pass a local folder with config.json, or one of: {', '.join(CATALOGUE)}."
        )
    return entry


@dataclass(frozen=True)
class ArchitectureInfo:
    """One catalogue row as `reins estimate --catalogue` lists it."""

    name: str
    params: int
    hub_ids: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params, "hub_ids": list(self.hub_ids)}


def architectures() -> list[ArchitectureInfo]:
    """Every catalogue architecture with its parameter count (computed from its config numbers)."""
    return [ArchitectureInfo(e.name, Arch.from_config(e.config).params, list(e.hub_ids)) for e in CATALOGUE.values()]


def architecture_config(ref: str) -> dict[str, Any]:
    """config.json of a model on this machine (folder, cached hub id, embedded alias), else the catalogue's copy."""
    try:
        return resolve_model(ref).config()
    except ModelNotFoundError as exc:
        entry = find(ref)
        if entry is None:
            raise ModelNotFoundError(
                f"{exc.message} It is not in the built-in catalogue either; architectures Reins can estimate "
                f"without a download: {', '.join(CATALOGUE)}."
            ) from None
        return dict(entry.config)

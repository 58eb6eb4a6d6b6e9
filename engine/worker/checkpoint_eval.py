"""Which step was best: the held-out pair figures of every saved checkpoint and of the final weights."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from engine.recipe.schema import Recipe
from engine.runs.events import EventWriter
from engine.runs.rundir import RunDir
from engine.verdict.checkpoints import BEST_BY, best_step
from engine.worker.measuring import Models, pair_sequences, score_pairs

ADAPTER_FILE = "adapter_model.safetensors"  # what peft's save_pretrained writes into each LoRA checkpoint
FIGURES = ("accuracy", "accuracy_per_token", "margin", "margin_per_token", "logps_chosen", "logps_rejected")


def evaluate_checkpoints(models: Models, tokenizer: Any, pairs: Sequence[dict[str, Any]], recipe: Recipe,
                         writer: EventWriter, step: int) -> dict[str, Any]:
    """Score the held-out pairs with the policy as it was at each saved checkpoint, oldest first, then with the final
    weights (put back first: the figures after this part are those of the trained policy, as before it)."""
    if not pairs:
        raise ValueError("no held-out preference pairs to score the checkpoints on: set data.eval to pairs with "
                         "chosen and rejected, and report.pairs above 0")
    if models.checkpoint_dir is None:
        raise ValueError("the trainer has no output folder, so there are no checkpoints to read")
    # The trainer writes into `checkpoints/`, a run folder's; a checkpoint at the final step is the final weights.
    folders = [p for p in RunDir(models.checkpoint_dir.parent).complete_checkpoints() if _step_of(p) < step]
    seqs = pair_sequences(tokenizer, pairs, recipe.train.max_length)
    if not seqs:
        raise ValueError("every held-out pair's prompt fills train.max_length: no answer tokens left to score")
    total = len(folders) + 1
    entries: list[dict[str, Any]] = []
    with _swappable(models.policy) as load:
        for i, folder in enumerate(folders, 1):
            writer.write("phase", step=step, name="checkpoint evaluation",
                         detail=f"checkpoint {i}/{total}: step {_step_of(folder)}")
            load(folder)
            with models.trained() as policy:
                figures = score_pairs(policy, tokenizer, seqs)
            entries.append({"step": _step_of(folder), "path": f"{folder.parent.name}/{folder.name}",
                            **{k: figures[k] for k in FIGURES}})
    # _swappable has put the final weights back: scoring them here also shows the restore worked.
    writer.write("phase", step=step, name="checkpoint evaluation",
                 detail=f"checkpoint {total}/{total}: the final weights (step {step})")
    with models.trained() as policy:
        figures = score_pairs(policy, tokenizer, seqs)
    entries.append({"step": step, "path": "final", "final": True, **{k: figures[k] for k in FIGURES}})
    return {"pairs": len(seqs) // 2, "steps": entries, "best_step": best_step(entries), "best_by": BEST_BY,
            "final_step": step}


def _step_of(folder: Path) -> int:
    return int(folder.name.rpartition("-")[2])  # `checkpoint-<step>`, as complete_checkpoints matched it


@contextlib.contextmanager
def _swappable(policy: Any) -> Iterator[Any]:
    """Yield a function that loads a checkpoint's weights into `policy` in place, and put the final weights back
    afterwards, whatever happened. In place rather than a second model per checkpoint: the accelerator keeps holding
    what it held while training (the reference and the optimiser's state are still there), so the evaluation cannot
    run out of the memory the training fitted in. The final weights wait in host memory: for LoRA only the adapter
    (megabytes); for full fine-tuning one copy of the whole model."""
    lora = hasattr(policy, "disable_adapter")
    saved = _adapter_copy(policy) if lora else _weights_copy(policy)
    try:
        yield (lambda folder: _load_adapter(policy, folder)) if lora else (lambda folder: _load_weights(policy, folder))
    finally:
        if lora:
            _set_adapter(policy, saved)
        else:
            policy.load_state_dict(saved, strict=False)  # tied aliases were left out of the copy: they follow


def _adapter_copy(policy: Any) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().to("cpu", copy=True) for k, v in get_peft_model_state_dict(policy).items()}


def _set_adapter(policy: Any, weights: dict[str, torch.Tensor]) -> None:
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(policy, weights, adapter_name=policy.active_adapter)
    unloaded = [k for k in result.missing_keys if "lora_" in k and f".{policy.active_adapter}." in k]
    if result.unexpected_keys or unloaded:
        raise ValueError(f"the adapter weights do not fit the trained adapter: {len(result.unexpected_keys)} "
                         f"unexpected, {len(unloaded)} missing (e.g. "
                         f"{(result.unexpected_keys or unloaded)[0]})")


def _load_adapter(policy: Any, folder: Path) -> None:
    from safetensors.torch import load_file

    path = folder / ADAPTER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the checkpoint holds no LoRA adapter to compare")
    _set_adapter(policy, load_file(str(path)))


def _weights_copy(policy: Any) -> dict[str, torch.Tensor]:
    """The policy's weights on the CPU, each tensor once (a tied output layer shares the embedding's storage)."""
    seen: set[int] = set()
    out = {}
    for name, tensor in policy.state_dict().items():
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            out[name] = tensor.detach().to("cpu", copy=True)
    return out


def _load_weights(policy: Any, folder: Path) -> None:
    """A full checkpoint (`model.safetensors`, or its shards one at a time) into the policy; every weight must be
    either in the files or tied to one that is, so a checkpoint of another model cannot half-load."""
    from safetensors.torch import load_file

    shards = sorted(folder.glob("model*.safetensors"))
    if not shards:
        raise FileNotFoundError(f"{folder} has no model*.safetensors: the checkpoint holds no weights to compare")
    own = policy.state_dict()
    loaded: set[str] = set()
    for shard in shards:
        result = policy.load_state_dict(load_file(str(shard)), strict=False)
        if result.unexpected_keys:
            raise ValueError(f"{shard} does not fit the trained model: {len(result.unexpected_keys)} unexpected "
                             f"weights (e.g. {result.unexpected_keys[0]})")
        loaded |= set(own) - set(result.missing_keys)
    ptrs = {own[k].data_ptr() for k in loaded}
    absent = [k for k in own if k not in loaded and own[k].data_ptr() not in ptrs]
    if absent:
        raise ValueError(f"{folder} lacks {len(absent)} of the model's weights (e.g. {absent[0]})")

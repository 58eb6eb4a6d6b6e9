"""Per-checkpoint evaluation of a fully fine-tuned policy, in process: each checkpoint is scored with its own
weights, the final weights come back afterwards, and a checkpoint of another model cannot half-load."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer, LlamaForCausalLM

from engine.paths import BUNDLED_RECIPES
from engine.recipe.loading import validate
from engine.runs.events import EventWriter, read_all
from engine.worker.checkpoint_eval import evaluate_checkpoints
from engine.worker.measuring import Models, pair_sequences, score_pairs

PAIRS = [json.loads(line) for line in (BUNDLED_RECIPES / "data/prefs.eval.jsonl").read_text().splitlines()[:4]]
RECIPE = validate({"data": {"train": "x.jsonl"}, "train": {"max_length": 64}, "lora": None,
                   "method": {"name": "dpo"}, "report": {"checkpoints": True}})


def _perturbed(model_dir: Path, seed: int) -> LlamaForCausalLM:
    model = LlamaForCausalLM.from_pretrained(model_dir)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def _checkpoint(run: Path, step: int, model: Any) -> Path:
    folder = run / "checkpoints" / f"checkpoint-{step}"
    model.save_pretrained(folder)
    (folder / "trainer_state.json").write_text("{}")  # what makes a checkpoint complete
    return folder


@pytest.fixture
def setup(tmp_path: Path, tiny_model: Path):  # noqa: ANN201
    run = tmp_path / "run"
    run.mkdir()
    policy = _perturbed(tiny_model, seed=3)  # "the final weights"
    trainer = SimpleNamespace(model=policy, args=SimpleNamespace(output_dir=str(run / "checkpoints")))
    models = Models(trainer, load_reference=lambda: None)
    tok = AutoTokenizer.from_pretrained(tiny_model)
    return run, policy, models, tok, pair_sequences(tok, PAIRS, RECIPE.train.max_length)


def test_each_checkpoint_is_scored_with_its_weights_and_the_final_ones_return(setup, tiny_model: Path) -> None:
    run, policy, models, tok, seqs = setup
    earlier = {2: _perturbed(tiny_model, seed=1), 4: _perturbed(tiny_model, seed=2)}
    for step, model in earlier.items():
        _checkpoint(run, step, model)
    _checkpoint(run, 6, policy)  # the trainer's save at the final step: the final weights, not compared twice
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    with EventWriter(run / "events.jsonl") as writer:
        out = evaluate_checkpoints(models, tok, PAIRS, RECIPE, writer, step=6)
    assert [e["step"] for e in out["steps"]] == [2, 4, 6] and out["final_step"] == 6
    assert out["pairs"] == len(seqs) // 2 > 0
    assert [e["path"] for e in out["steps"]] == ["checkpoints/checkpoint-2", "checkpoints/checkpoint-4", "final"]
    for entry, model in zip(out["steps"], [earlier[2].eval(), earlier[4].eval(), policy], strict=True):
        expected = score_pairs(model, tok, seqs)
        assert {k: entry[k] for k in ("accuracy_per_token", "margin", "logps_chosen")} == \
            {k: expected[k] for k in ("accuracy_per_token", "margin", "logps_chosen")}
    assert out["steps"][0]["margin"] != out["steps"][2]["margin"]  # the weights really were swapped in
    assert all(torch.equal(before[k], v) for k, v in policy.state_dict().items())
    assert out["best_step"] in (2, 4, 6) and out["best_by"].startswith("accuracy_per_token")
    phases = [e["detail"] for e in read_all(run / "events.jsonl") if e["kind"] == "phase"]
    assert phases == ["checkpoint 1/3: step 2", "checkpoint 2/3: step 4", "checkpoint 3/3: the final weights (step 6)"]


def test_a_checkpoint_of_another_model_fails_and_leaves_the_final_weights(setup, tiny_model: Path) -> None:
    run, policy, models, tok, _ = setup
    folder = _checkpoint(run, 2, _perturbed(tiny_model, seed=1))
    from safetensors.torch import load_file, save_file

    weights = load_file(str(folder / "model.safetensors"))
    save_file({**weights, "extra.weight": torch.zeros(2)}, str(folder / "model.safetensors"))
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    with EventWriter(run / "events.jsonl") as writer, pytest.raises(ValueError, match="does not fit"):
        evaluate_checkpoints(models, tok, PAIRS, RECIPE, writer, step=4)
    assert all(torch.equal(before[k], v) for k, v in policy.state_dict().items())


def test_no_pairs_is_a_clear_error(setup) -> None:
    run, _, models, tok, _ = setup
    with EventWriter(run / "events.jsonl") as writer, pytest.raises(ValueError, match="no held-out preference"):
        evaluate_checkpoints(models, tok, [], RECIPE, writer, step=4)

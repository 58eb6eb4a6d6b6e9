"""`reins export model --merge`: the LoRA adapter of a finished run merged into its base in a worker process (the
CLI never imports torch); plain transformers (no PEFT) loads the folder and gives the run's policy's per-token
log-probs (base + adapter through PEFT) within 1e-3 in fp32; the card carries the report's verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e
RUN_ID = "20261127-020000-dpo"
JUDGE = {"kind": "openai", "model": "j", "n": 40, "wins": 30, "ties": 4, "losses": 6, "win_rate": 0.8,
         "ci95": [0.66, 0.89]}
PROMPTS = ["What is the capital of France?", "Write a haiku about the sea.", "2 + 2 =",
           "Explain why the sky is blue in one sentence."]
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, make_run, write_recipe, tiny_model: Path,
                 random_adapter) -> Path:
    runs = tmp_path_factory.mktemp("export") / "runs"
    run = make_run(runs, RUN_ID, events=[
        ("status", {"status": "running", "max_steps": 4}),
        ("evaluation", {"step": 4, "values": {"samples": 40, "judge": JUDGE}}),
        ("status", {"status": "completed", "summary": {"steps": 4}})])
    write_recipe(run.recipe, "dpo", tiny_model)  # dtype auto: float32 on this CPU, as the adapter was made
    random_adapter(run.final, tiny_model, seed=3)
    return runs


def _token_logps(model, tokenizer) -> list[list[float]]:
    """Each prompt's per-token log-probs of its own next tokens under `model`."""
    import torch

    rows = []
    with torch.no_grad():
        for text in PROMPTS:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                                return_tensors="pt", return_dict=True)["input_ids"]
            logps = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
            rows.append(logps.gather(1, ids[0, 1:, None])[:, 0].tolist())
    return rows


def _max_diff(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for row_a, row_b in zip(a, b, strict=True) for x, y in zip(row_a, row_b, strict=True))


def test_merged_export_reproduces_the_policy_log_probs(store: Path, tmp_path: Path, reins_imports,
                                                       tiny_model: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = tmp_path / "merged"
    res, heavy = reins_imports("export", "model", RUN_ID, "-o", str(target), "--merge", "--dtype", "fp32", "--json",
                               runs=store)
    assert res.returncode == 0, res.stderr[-3000:]
    assert heavy == [], f"the CLI process imported {heavy}"
    done = json.loads(res.stdout)
    assert done["kind"] == "merged" and done["dtype"] == "fp32" and done["chat_template"] is True
    assert not (target / "adapter_config.json").exists() and (target / "model.safetensors").is_file()
    exported = AutoModelForCausalLM.from_pretrained(target, dtype=torch.float32)
    assert not hasattr(exported, "peft_config")
    tokenizer = AutoTokenizer.from_pretrained(target)
    assert tokenizer.chat_template  # saved with the model: chat prompts format as they did in training
    policy = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32),
                                       str(store / RUN_ID / "final"))
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    ours, theirs, before = (_token_logps(m, tokenizer) for m in (exported, policy, base))
    diff, moved = _max_diff(ours, theirs), _max_diff(before, theirs)
    print(f"max abs per-token log-prob diff, export vs policy: {diff:.2e} over "
          f"{sum(map(len, ours))} tokens; base vs policy: {moved:.3f}")
    assert diff <= TOLERANCE
    assert moved > 100 * TOLERANCE  # the adapter changes the model: the comparison could have failed
    card = (target / "README.md").read_text()
    assert "## Verdict: keep" in card and "win rate 0.80 (30/4/6 W/T/L)" in card
    assert "merged into the unquantised base weights in fp32" in card and "library_name: transformers" in card


def test_default_merge_is_bf16(store: Path, tmp_path: Path, reins) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    target = tmp_path / "bf16"
    res = reins("export", "model", RUN_ID, "-o", str(target), "--merge", runs=store)
    assert res.returncode == 0, res.stderr[-3000:]
    config = json.loads((target / "config.json").read_text())
    assert config.get("dtype", config.get("torch_dtype")) == "bfloat16"
    assert AutoModelForCausalLM.from_pretrained(target).dtype == torch.bfloat16


@pytest.mark.gpu
def test_qlora_run_merges_into_the_unquantised_base(tmp_path: Path, make_run, write_recipe, reins,
                                                    tiny_model: Path, random_adapter) -> None:
    """A run trained on a 4-bit base: the export loads the same base unquantised and merges into it."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("QLoRA needs a CUDA GPU (bitsandbytes)")
    runs = tmp_path / "runs"
    run = make_run(runs, RUN_ID, events=[("status", {"status": "completed", "summary": {"steps": 1}})])
    write_recipe(run.recipe, "dpo", tiny_model)
    raw = yaml.safe_load(run.recipe.read_text())
    raw["model"]["quantization"] = "4bit"
    run.recipe.write_text(yaml.safe_dump(raw))
    random_adapter(run.final, tiny_model, seed=3)
    target = tmp_path / "merged"
    res = reins("export", "model", RUN_ID, "-o", str(target), "--merge", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    config = json.loads((target / "config.json").read_text())
    assert "quantization_config" not in config and config.get("dtype", config.get("torch_dtype")) == "bfloat16"
    assert "4bit-quantized base (QLoRA)" in (target / "README.md").read_text()

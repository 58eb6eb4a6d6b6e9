"""report.checkpoints through the real worker: a LoRA run saving every 2 steps gets one held-out entry per saved
checkpoint plus the final weights, and the final adapter is back in place when they are scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runs import events as ev

pytestmark = pytest.mark.e2e
FIGURES = ("accuracy", "accuracy_per_token", "margin", "margin_per_token", "logps_chosen", "logps_rejected")


def test_lora_run_scores_every_checkpoint_and_restores_the_final_adapter(tmp_path: Path, tiny_model: Path, reins,
                                                                        tiny_recipe) -> None:
    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=6,
                         train={"save_steps": 2, "save_total_limit": 5, "learning_rate": 2e-2},
                         report={"checkpoints": True, "samples": 0, "perplexity_texts": 0, "pairs": 8})
    res = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "runs")
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["status"] == "completed"
    run_dir = Path(out["path"])
    saved = sorted(int(p.name.split("-")[1]) for p in (run_dir / "checkpoints").glob("checkpoint-*"))
    assert saved == [2, 4, 6] and (run_dir / "checkpoints/checkpoint-2/adapter_model.safetensors").is_file()
    events = ev.read_all(run_dir / "events.jsonl")
    (evaluation,) = [e for e in events if e["kind"] == "evaluation"]
    values = evaluation["values"]
    assert "errors" not in values, values.get("errors")
    ck = values["checkpoints"]
    # checkpoint-6 is the final step's save: the final weights, scored once as such
    assert [(e["step"], e["path"]) for e in ck["steps"]] == [(2, "checkpoints/checkpoint-2"),
                                                            (4, "checkpoints/checkpoint-4"), (6, "final")]
    assert ck["final_step"] == 6 and ck["best_step"] in (2, 4, 6) and ck["pairs"] == values["preference"]["pairs"]
    final, policy = ck["steps"][-1], values["preference"]["policy"]
    assert {k: final[k] for k in FIGURES} == {k: policy[k] for k in FIGURES}  # the final adapter was restored
    assert ck["steps"][0]["logps_chosen"] != final["logps_chosen"]  # the step-2 adapter really was loaded
    details = [e["detail"] for e in events if e["kind"] == "phase" and e["name"] == "checkpoint evaluation"]
    assert details == ["checkpoint 1/3: step 2", "checkpoint 2/3: step 4", "checkpoint 3/3: the final weights (step 6)"]
    report = (run_dir / "report.md").read_text()
    assert "## Checkpoints: held-out pairs at each saved step" in report and report.count("**best**") == 1

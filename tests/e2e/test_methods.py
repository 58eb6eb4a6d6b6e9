"""Every method through the real subprocess on the tiny random Llama: completes, and logs its own metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from engine.paths import BUNDLED_RECIPES
from engine.runs import events as ev

pytestmark = pytest.mark.e2e

# Keys a practitioner watches for each method (TRL 1.12's own names), checked on every train metric event.
METHOD_KEYS = {
    "sft": {"loss", "mean_token_accuracy"},
    "rm": {"loss", "accuracy", "margin"},
    "dpo": {"rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"},
    "ipo": {"rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"},
    "kto": {"loss", "kl"},
    "orpo": {"log_odds_ratio", "nll_loss", "rewards/margins"},
    "simpo": {"rewards/margins", "rewards/accuracies", "nll_loss"},
    "ppo": {"objective/kl", "objective/scores", "objective/rlhf_reward", "policy/approxkl_avg", "loss/value_avg"},
    "grpo": {"reward", "completions/mean_length"},
    "rloo": {"reward", "completions/mean_length"},
}


@pytest.mark.parametrize("recipe", sorted(METHOD_KEYS))
def test_every_bundled_method_runs_two_steps(recipe: str, tmp_path: Path, tiny_model: Path, metric_events, reins,
                                             tiny_recipe) -> None:
    runs = tmp_path / "runs"
    method = {}
    train = {"batch_size": 2}
    if recipe == "rm":
        train["max_length"] = 512  # TRL's RewardTrainer drops (not truncates) pairs longer than max_length
    if recipe in ("ppo", "grpo", "rloo"):
        # A local folder works as the reward model: the tiny Llama loaded as a 1-output classifier.
        method = {"reward_model": str(tiny_model)}
        if recipe == "ppo":
            method |= {"response_length": 8, "num_ppo_epochs": 1}
        else:
            method |= {"num_generations": 2, "max_completion_length": 8}
    path = tiny_recipe(tmp_path, tiny_model, recipe, steps=2, method=method, train=train, data={"max_rows": 8})
    res = reins("run", str(path), "--wait", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-4000:]
    run = json.loads(res.stdout)
    assert run["status"] == "completed"
    events = metric_events(Path(run["path"]))
    assert len(events) == 2
    for e in events:
        missing = METHOD_KEYS[recipe] - set(e["values"])
        assert not missing, f"{recipe} step {e['step']} lacks {missing}: has {sorted(e['values'])}"
    assert (Path(run["path"]) / "final").is_dir()
    evaluation = [e for e in ev.read_all(Path(run["path"]) / "events.jsonl") if e["kind"] == "evaluation"]
    if recipe == "rm":
        assert evaluation == []  # a reward model generates nothing; its report is its held-out accuracy
        return
    # every policy method is compared with its reference after training, whatever wraps the policy (PPO, LoRA)
    (values,) = [e["values"] for e in evaluation]
    assert values.get("errors") is None, values.get("errors")
    held_out = yaml.safe_load((BUNDLED_RECIPES / f"{recipe}.yaml").read_text())["data"]["eval"]
    prompts = len((BUNDLED_RECIPES / held_out).read_text().splitlines())
    assert values["samples"] == prompts and values["perplexity"]["texts"] == 24  # every held-out prompt answered
    assert ("preference" in values) == (recipe not in ("sft", "ppo", "grpo", "rloo"))


def test_rlhf_pipeline_chains_sft_rm_ppo_and_ppo_loads_the_rm_output(tmp_path: Path, tiny_model: Path, metric_events,
                                                                     reins, tiny_recipe) -> None:
    runs = tmp_path / "runs"
    stages = {}
    for name, extra in (("sft", {}), ("rm", {"train": {"max_length": 512}}),
                        ("ppo", {"method": {"response_length": 8, "num_ppo_epochs": 1}})):
        stages[name] = tiny_recipe(tmp_path, tiny_model, name, steps=2, data={"max_rows": 8}, **extra)
    pipe = tmp_path / "rlhf.yaml"
    pipe.write_text(
        "description: test\nstages:\n"
        f"  - {{name: sft, recipe: {stages['sft']}}}\n"
        f"  - {{name: rm, recipe: {stages['rm']}}}\n"
        f"  - name: ppo\n    recipe: {stages['ppo']}\n"
        "    set: ['model.name=run:{sft}', 'method.reward_model=run:{rm}']\n"
    )
    res = reins("run", str(pipe), "--wait", "--json", runs=runs, timeout=1200)
    assert res.returncode == 0, res.stderr[-4000:]
    record = json.loads(res.stdout)
    assert record["status"] == "completed" and [s["status"] for s in record["stages"]] == ["completed"] * 3
    ids = {s["name"]: s["run_id"] for s in record["stages"]}
    ppo_dir = runs / ids["ppo"]
    recipe_text = (ppo_dir / "recipe.yaml").read_text()
    assert f"reward_model: run:{ids['rm']}" in recipe_text and f"name: run:{ids['sft']}" in recipe_text
    ppo_record = json.loads((ppo_dir / "run.json").read_text())
    assert ppo_record["inputs"]["method.reward_model"] == str(runs / ids["rm"] / "final")
    assert ppo_record["parents"] == sorted([ids["sft"], ids["rm"]])
    assert ppo_record["pipeline"]["after"] == ids["rm"]
    # The rm stage's LoRA adapter + trained score head were really loaded: merged once, beside it, by the ppo worker.
    assert (runs / ids["rm"] / "final-merged" / "config.json").is_file()
    scores = [e["values"]["objective/scores"] for e in metric_events(ppo_dir)]
    assert len(scores) == 2


def test_pipeline_stops_at_a_failing_stage(tmp_path: Path, tiny_model: Path, reins, tiny_recipe) -> None:
    from engine.estimate.memory import detect_gpu_memory_gib

    if detect_gpu_memory_gib() is not None:
        pytest.skip("the failing stage relies on 4-bit loading being impossible without a GPU")
    runs = tmp_path / "runs"
    good = tiny_recipe(tmp_path, tiny_model, "sft", steps=1, data={"max_rows": 4})
    pipe = tmp_path / "p.yaml"
    # The second stage asks for a GPU-only setting: it cannot start here, and the third must never run.
    pipe.write_text(f"stages:\n  - {{name: a, recipe: {good}}}\n"
                    f"  - name: b\n    recipe: {good}\n    set: ['model.quantization=4bit']\n"
                    f"  - {{name: c, recipe: {good}}}\n")
    res = reins("run", str(pipe), "--wait", "--json", runs=runs, timeout=600)
    assert res.returncode == 1
    record = json.loads(res.stdout)
    assert [s["status"] for s in record["stages"]] == ["completed", "failed", "pending"]
    assert "stage 'b'" in record["error"]

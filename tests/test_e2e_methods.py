"""Every method through the real subprocess on the tiny random Llama: completes, and logs its own metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_e2e import metric_events, reins, tiny

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
def test_every_bundled_method_runs_two_steps(recipe: str, tmp_path: Path, tiny_model: Path) -> None:
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
    path = tiny(tmp_path, tiny_model, recipe, steps=2, method=method, train=train, data={"max_rows": 8})
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

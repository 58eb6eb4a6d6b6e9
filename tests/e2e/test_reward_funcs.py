"""GRPO/RLOO with Python reward functions through the real subprocess on the tiny random Llama: the bundled
grpo-arith rewards train without a reward model and are logged per function; a broken function fails the run with
its name and row, not a TRL traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.paths import BUNDLED_RECIPES

pytestmark = pytest.mark.e2e
REWARDS = BUNDLED_RECIPES / "rewards"
FUNCS = [f"{REWARDS}/exact_match.py:exact_match", f"{REWARDS}/number_format.py:number_format",
         f"{REWARDS}/length_penalty.py:length_penalty"]


def test_grpo_trains_on_reward_functions_alone(tmp_path: Path, tiny_model: Path, metric_events, reins,
                                               tiny_recipe) -> None:
    recipe = tiny_recipe(tmp_path, tiny_model, "grpo-arith", steps=2, data={"max_rows": 8},
                         method={"reward_funcs": FUNCS, "reward_weights": [1.0, 0.5, 2.0], "num_generations": 2,
                                 "max_completion_length": 8}, report={"enabled": False})
    res = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "runs")
    assert (res.returncode, json.loads(res.stdout or "{}").get("status")) == (0, "completed"), res.stderr[-4000:]
    events = metric_events(Path(json.loads(res.stdout)["path"]))
    assert [e["step"] for e in events] == [1, 2]  # no reward model was loaded: the functions alone drive GRPO
    for e in events:
        v = e["values"]
        for name in ("exact_match", "number_format", "length_penalty"):
            assert {f"rewards/{name}/mean", f"rewards/{name}/std"} <= set(v), sorted(v)
        # the logged reward is the weighted sum of the functions' means (TRL sums per completion, then averages)
        weighted = (v["rewards/exact_match/mean"] + 0.5 * v["rewards/number_format/mean"]
                    + 2.0 * v["rewards/length_penalty/mean"])
        assert v["reward"] == pytest.approx(weighted, abs=1e-4)
        assert v["rewards/length_penalty/mean"] < 0  # 8 random tokens are past the 4 free ones


def test_a_raising_reward_function_fails_the_run_with_its_name_and_row(tmp_path: Path, tiny_model: Path, reins,
                                                                       tiny_recipe) -> None:
    bad = tmp_path / "broken.py"
    # Raises for odd answers only, so the wrapper must find which row of the batch it was.
    bad.write_text("def picky(prompts, completions, answer, **kwargs):\n"
                   "    return [1.0 / (1 - a % 2) for a in answer]\n")
    recipe = tiny_recipe(tmp_path, tiny_model, "grpo-arith", steps=2, data={"max_rows": 8},
                         train={"batch_size": 4},
                         method={"reward_funcs": [f"{bad}:picky"], "reward_weights": None, "num_generations": 2,
                                 "max_completion_length": 4}, report={"enabled": False})
    res = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "runs")
    assert res.returncode == 1
    run = json.loads(res.stdout)
    record = json.loads((Path(run["path"]) / "run.json").read_text())
    assert record["status"] == "failed"
    # two prompts of two completions per batch: row 0 or 2 is the first completion of a prompt with an odd answer
    said = re.match(r"Reward function 'picky' failed on row ([02]) of the batch: raised ZeroDivisionError: float "
                    r"division by zero \(prompt: 'What is (\d+) ([+-]) (\d+)\? Reply with only the number\.'; "
                    r"completion: .*\) \(at step [01]; fix the function, then run again\)$", record["error"])
    assert said, record["error"]
    a, op, b = int(said[2]), said[3], int(said[4])
    assert (a + b if op == "+" else a - b) % 2 == 1  # the row named is one the function really fails on


def test_rloo_sums_a_reward_model_and_a_function_with_their_weights(tmp_path: Path, tiny_model: Path, metric_events,
                                                                    reins, tiny_recipe) -> None:
    # The tiny Llama loaded as a 1-output classifier is the reward model; its metric name is its folder's name.
    recipe = tiny_recipe(tmp_path, tiny_model, "rloo", steps=1, data={"max_rows": 4},
                         method={"reward_model": str(tiny_model), "reward_funcs": [FUNCS[2]],
                                 "reward_weights": [0.5, 3.0], "num_generations": 2, "max_completion_length": 8},
                         report={"enabled": False})
    res = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "runs")
    assert (res.returncode, json.loads(res.stdout or "{}").get("status")) == (0, "completed"), res.stderr[-4000:]
    (event,) = metric_events(Path(json.loads(res.stdout)["path"]))
    v = event["values"]
    model_mean = v[f"rewards/{tiny_model.name}/mean"]
    assert v["reward"] == pytest.approx(0.5 * model_mean + 3.0 * v["rewards/length_penalty/mean"], abs=1e-4)

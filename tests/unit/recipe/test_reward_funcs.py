"""method.reward_funcs / reward_weights of GRPO and RLOO: schema rules, paths relative to the recipe, and the checks
`reins validate` makes by reading the files with ast (nothing imported)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from engine.errors import RecipeError
from engine.launching.launcher import prepare
from engine.recipe.loading import load_recipe, validate
from engine.recipe.reward_funcs import check_reward_funcs, defined_functions, parse_ref

GOOD = "def score(prompts, completions, **kwargs):\n    return [0.0] * len(completions)\n"


def grpo(**method) -> dict:
    return {"data": {"train": "x.jsonl"}, "method": {"name": "grpo", **method}}


def problems(raw: dict) -> list[str]:
    with pytest.raises(RecipeError) as err:
        validate(raw)
    return err.value.problems


@pytest.mark.parametrize("method", ["grpo", "rloo"])
def test_reward_functions_alone_need_no_reward_model(method: str) -> None:
    r = validate({"data": {"train": "x.jsonl"}, "method": {"name": method, "reward_funcs": ["r.py:score"]}})
    assert r.method.reward_model is None and r.method.reward_funcs == ["r.py:score"]


def test_some_reward_is_required_and_ppo_still_needs_its_model() -> None:
    assert problems(grpo()) == ["method: give a reward: reward_model, reward_funcs, or both"]
    assert problems({"data": {"train": "x.jsonl"}, "method": {"name": "ppo"}}) == \
        ["method.reward_model: required, but missing"]


def test_weights_count_the_reward_model_and_each_function() -> None:
    ok = validate(grpo(reward_model="/m", reward_funcs=["a.py:f", "b.py:g"], reward_weights=[1, 0.5, 2]))
    assert ok.method.reward_weights == [1, 0.5, 2]
    (msg,) = problems(grpo(reward_model="/m", reward_funcs=["a.py:f"], reward_weights=[1.0]))
    assert "reward_weights has 1 weight for 2 rewards" in msg and "reward model first" in msg


@pytest.mark.parametrize("ref", ["score", "r.py", "r.txt:score", "r.py:not-a-name", ":score"])
def test_a_malformed_reference_is_named(ref: str) -> None:
    (msg,) = problems(grpo(reward_funcs=[ref]))
    assert msg.startswith("method.reward_funcs:") and repr(ref) in msg and "path/to/file.py:function" in msg


def test_two_functions_of_one_name_would_share_a_metric() -> None:
    (msg,) = problems(grpo(reward_funcs=["a/r.py:score", "b/r.py:score"]))
    assert "two reward functions are named score" in msg


def test_paths_are_relative_to_the_recipe_and_checked_with_ast(tmp_path: Path, write_jsonl) -> None:
    (tmp_path / "rewards").mkdir()
    (tmp_path / "rewards" / "r.py").write_text(GOOD + "import no_such_module_anywhere\n")  # never imported here
    write_jsonl(tmp_path / "p.jsonl", [{"prompt": "1 + 1?", "answer": 2}])
    recipe = tmp_path / "g.yaml"
    recipe.write_text(yaml.safe_dump({"data": {"train": "p.jsonl"}, "report": {"enabled": False},
                                      "method": {"name": "grpo", "reward_funcs": ["rewards/r.py:score"]}}))
    loaded = load_recipe(recipe)
    assert loaded.recipe.method.reward_funcs == [f"{tmp_path / 'rewards' / 'r.py'}:score"]
    prepare(recipe)  # file and function exist: no error
    assert "no_such_module_anywhere" not in sys.modules
    with pytest.raises(RecipeError) as err:
        prepare(recipe, ["method.reward_funcs=[rewards/r.py:scor, rewards/none.py:f]"])
    assert err.value.problems == [
        f"{tmp_path}/rewards/r.py:scor: r.py defines no function 'scor' (top-level functions: score)",
        f"{tmp_path}/rewards/none.py:f: file {tmp_path}/rewards/none.py does not exist"]


def test_a_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("x = 1\ndef score(:\n")
    with pytest.raises(RecipeError) as err:
        check_reward_funcs([f"{tmp_path}/bad.py:score"])
    assert "bad.py has a syntax error at line 2" in err.value.problems[0]


def test_only_top_level_functions_count(tmp_path: Path) -> None:
    (tmp_path / "r.py").write_text("class C:\n    def inner(self): ...\n\nasync def a(**kw): ...\n\n"
                                   "def f(**kw):\n    def nested(): ...\n")
    assert defined_functions(tmp_path / "r.py") == {"a", "f"}
    assert parse_ref("~/x/r.py:f").path == Path("~/x/r.py").expanduser()

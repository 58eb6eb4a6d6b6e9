"""Reward functions in the worker: loaded from their files, and wrapped so a raise or a wrong-shaped return names the
function and the batch row; the bundled examples score what their docstrings say."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.errors import RewardFunctionError
from engine.paths import BUNDLED_RECIPES
from engine.worker.reward_funcs import checked, load_reward_funcs

PROMPTS = ["1 + 1?", "2 + 2?", "3 + 3?"]
COMPLETIONS = ["2", "four", "6"]


def call(func, **kwargs):
    return func(prompts=PROMPTS, completions=COMPLETIONS, completion_ids=[[1], [2, 3], [4]], **kwargs)


def test_a_raise_names_the_function_and_the_failing_row() -> None:
    def exact(prompts, completions, answer, **kwargs):
        return [float(int(c) == a) for c, a in zip(completions, answer, strict=True)]  # int("four") raises on row 1

    with pytest.raises(RewardFunctionError) as err:
        call(checked(exact), answer=[2, 4, 6])
    e = err.value
    assert (e.function, e.row) == ("exact", 1)
    assert "Reward function 'exact' failed on row 1 of the batch: raised ValueError" in str(e)
    assert "prompt: '2 + 2?'; completion: 'four'" in str(e)


def test_a_raise_no_single_row_reproduces_has_no_row() -> None:
    def batch_only(prompts, completions, **kwargs):
        if len(completions) > 1:
            raise RuntimeError("needs one row")
        return [1.0]

    with pytest.raises(RewardFunctionError) as err:
        call(checked(batch_only))
    assert err.value.row is None and "'batch_only' failed: raised RuntimeError: needs one row" in str(err.value)


@pytest.mark.parametrize(("out", "row", "said"), [
    (0.5, None, "returned a float, expected a list of one float (or None) per completion (3 here)"),
    ([1.0, 0.0], None, "returned 2 rewards for 3 completions"),
    ([1.0, "yes", 0.0], 1, "returned 'yes' (str), expected a float or None (completion: 'four')"),
    ([1.0, 0.0, True], 2, "returned True (bool)"),
])
def test_a_wrong_shaped_return_is_named(out, row, said) -> None:
    def shaped(prompts, completions, **kwargs):
        return out

    with pytest.raises(RewardFunctionError) as err:
        call(checked(shaped))
    assert err.value.row == row and err.value.function == "shaped" and said in str(err.value)


def test_good_returns_pass_through_with_none_and_the_function_keeps_its_name() -> None:
    def fine(prompts, completions, **kwargs):
        return (1, None, 0.5)

    wrapped = checked(fine)
    assert wrapped.__name__ == "fine"  # TRL logs rewards/<__name__>/mean
    assert call(wrapped) == [1, None, 0.5]


def test_async_functions_stay_async_and_are_checked() -> None:
    async def later(prompts, completions, **kwargs):
        return [1.0]

    wrapped = checked(later)
    assert asyncio.iscoroutinefunction(wrapped)
    with pytest.raises(RewardFunctionError, match="returned 1 rewards for 3 completions"):
        asyncio.run(call(wrapped))


def test_loading_from_files_and_an_import_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "r.py").write_text("def one(prompts, completions, **kw):\n    return [1.0] * len(completions)\n")
    (tmp_path / "b" / "r.py").write_text("def two(prompts, completions, **kw):\n    return [2.0] * len(completions)\n")
    one, two = load_reward_funcs([f"{tmp_path}/a/r.py:one", f"{tmp_path}/b/r.py:two"])  # same stem, both kept
    assert (one.__name__, call(one), call(two)) == ("one", [1.0] * 3, [2.0] * 3)
    (tmp_path / "bad.py").write_text("import no_such_module_anywhere\ndef f(**kw): ...\n")
    with pytest.raises(RewardFunctionError, match="'f' failed: importing .*bad.py raised ModuleNotFoundError"):
        load_reward_funcs([f"{tmp_path}/bad.py:f"])


def test_the_bundled_rewards_score_arithmetic_answers() -> None:
    rewards = BUNDLED_RECIPES / "rewards"
    exact, fmt, length = load_reward_funcs([f"{rewards}/exact_match.py:exact_match",
                                            f"{rewards}/number_format.py:number_format",
                                            f"{rewards}/length_penalty.py:length_penalty"])
    chat = [[{"role": "assistant", "content": t}] for t in ("12", "The answer is 12.", "7 + 5 = 13", "twelve")]
    kwargs = {"prompts": ["q"] * 4, "completions": chat, "completion_ids": [[0] * n for n in (1, 5, 8, 2)]}
    assert exact(answer=[12, 12, 12, 12], **kwargs) == [1.0, 1.0, 0.0, 0.0]
    assert fmt(**kwargs) == [1.0, 0.5, 0.5, 0.0]
    assert length(**kwargs) == pytest.approx([0.0, -0.05, -0.2, 0.0])

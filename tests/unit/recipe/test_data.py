"""Data loading and checking: every mistake named by file, row and field; the bundled data is sound."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from engine.errors import DataError
from engine.paths import BUNDLED_RECIPES
from engine.recipe.data import check_data, check_rows, load_records
from engine.recipe.loading import load_recipe

DATA = BUNDLED_RECIPES / "data"
msg = lambda c: [{"role": "user", "content": c}]  # noqa: E731
ans = lambda c: [{"role": "assistant", "content": c}]  # noqa: E731


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines()]


def test_bundled_preference_data_is_big_enough_and_covers_the_four_failure_modes() -> None:
    train, held_out = rows("prefs.train.jsonl"), rows("prefs.eval.jsonl")
    assert len(train) + len(held_out) >= 300 and len(held_out) >= 30
    cats = Counter(r["category"] for r in train + held_out)
    assert set(cats) == {"verbose_vs_concise", "hallucination_vs_calibrated", "emotional_register",
                         "first_step_vs_everything"}
    assert set(r["category"] for r in held_out) == set(cats)  # eval covers every failure mode
    prompts = [r["prompt"][0]["content"] for r in train + held_out]
    assert len(set(prompts)) == len(prompts)
    assert not check_rows(train + held_out, "dpo", "prefs")


def test_bundled_sft_data() -> None:
    train, held_out = rows("sft.train.jsonl"), rows("sft.eval.jsonl")
    assert len(train) + len(held_out) >= 200 and held_out
    assert not check_rows(train + held_out, "sft", "sft")
    train_prompts = {r["prompt"][0]["content"] for r in train}
    assert not any(r["prompt"][0]["content"] in train_prompts for r in held_out)  # truly held out


def test_verbose_rows_prefer_the_shorter_answer() -> None:
    # A property the data was written to have: in this category the chosen answer is the concise one.
    for r in rows("prefs.train.jsonl"):
        if r["category"] == "verbose_vs_concise":
            assert len(r["chosen"][0]["content"]) < len(r["rejected"][0]["content"])


@pytest.mark.parametrize(("row", "expected"), [
    ({"prompt": msg("q"), "rejected": ans("b")}, "row 1: missing field `chosen`"),
    ({"prompt": msg("q"), "chosen": ans("  "), "rejected": ans("b")}, "row 1, field `chosen`: message 0 has empty"),
    ({"prompt": "q", "chosen": "", "rejected": "b"}, "row 1, field `chosen`: empty string"),
    ({"prompt": msg("q"), "chosen": ans("a"), "rejected": ans("a")}, "row 1: `chosen` and `rejected` are identical"),
    ({"prompt": msg("q"), "chosen": 3, "rejected": ans("b")}, "row 1, field `chosen`: expected text or a list"),
    ({"prompt": [{"role": "wizard", "content": "x"}], "chosen": "a", "rejected": "b"}, "unknown role 'wizard'"),
])
def test_each_bad_row_is_named(row: dict, expected: str) -> None:
    problems = check_rows([row], "dpo", "f.jsonl")
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("f.jsonl") for p in problems)


def test_sft_accepts_messages_prompt_completion_and_text() -> None:
    assert not check_rows([{"messages": msg("q") + ans("a")}], "sft", "x")
    assert not check_rows([{"prompt": "q", "completion": "a"}], "sft", "x")
    assert not check_rows([{"text": "plain"}], "sft", "x")
    assert check_rows([{"prompt": "q"}], "sft", "x") == ["x, row 1: missing field `completion`"]


def test_invalid_json_line_is_named(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": oops}\n')
    with pytest.raises(DataError, match=r"d.jsonl, line 2: not valid JSON"):
        load_records(str(p))


def test_check_data_reports_the_file_and_the_rows(tmp_path: Path, write_jsonl) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "q", "chosen": "a", "rejected": "a"}] * 12)
    recipe = load_recipe("dpo", [f"data.train={bad}", "data.eval=null"]).recipe
    with pytest.raises(DataError) as exc:
        check_data(recipe)
    assert "12 problem" in exc.value.message and "bad.jsonl" in exc.value.message
    assert exc.value.problems[-1] == "… and 4 more"


def test_missing_file_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_records("/nope/data.jsonl")


def test_parquet_and_save_to_disk_and_field_mapping(tmp_path: Path) -> None:
    import datasets

    data = [{"question": "q1", "good": "a", "bad": "b"}, {"question": "q2", "good": "c", "bad": "d"}]
    datasets.Dataset.from_list(data).to_parquet(str(tmp_path / "p.parquet"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list(data)}).save_to_disk(str(tmp_path / "disk"))
    for source in (tmp_path / "p.parquet", tmp_path / "disk"):
        recipe = load_recipe("dpo", [f"data.train={source}", "data.eval=null", "data.fields.prompt=question",
                                     "data.fields.chosen=good", "data.fields.rejected=bad"]).recipe
        assert check_data(recipe) == {"train": 2}


def test_hub_name_not_in_cache_fails_without_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    with pytest.raises(DataError, match="not in the local Hugging Face cache"):
        load_records("someorg/some-dataset")


@pytest.mark.parametrize(("method", "row", "expected"), [
    ("sft", {"prompt": "q"}, "missing field `completion`"),
    ("rm", {"prompt": "q", "chosen": "a"}, "missing field `rejected`"),
    ("dpo", {"prompt": "q", "rejected": "b"}, "missing field `chosen`"),
    ("orpo", {"prompt": "q", "chosen": "a", "rejected": ""}, "field `rejected`: empty string"),
    ("cpo", {"prompt": "q", "chosen": "a", "rejected": "a"}, "`chosen` and `rejected` are identical"),
    ("simpo", {"prompt": "q", "chosen": 1, "rejected": "b"}, "field `chosen`: expected text"),
    ("kto", {"prompt": "q", "completion": "a", "label": "yes"}, "field `label`: must be true"),
    ("kto", {"prompt": "q", "label": True}, "missing field `completion`"),
    ("ppo", {"question": "q"}, "missing field `prompt`"),
    ("grpo", {"prompt": ""}, "field `prompt`: empty string"),
    ("rloo", {"prompt": [{"role": "user", "content": ""}]}, "message 0 has empty"),
])
def test_each_method_names_its_missing_or_invalid_field(method: str, row: dict, expected: str, tmp_path: Path,
                                                        write_jsonl) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [row])
    # Each method's bundled recipe (CPO shares SimPO's settings), pointed at the bad file.
    base, extra = ("simpo", ["method.name=cpo"]) if method == "cpo" else (method, [])
    recipe = load_recipe(base, [f"data.train={bad}", "data.eval=null", *extra]).recipe
    assert recipe.method.name == method
    with pytest.raises(DataError) as exc:
        check_data(recipe)
    assert any(expected in p for p in exc.value.problems), exc.value.problems
    assert any("bad.jsonl" in p and "row 1" in p for p in exc.value.problems)

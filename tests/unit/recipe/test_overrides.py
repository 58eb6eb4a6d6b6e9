"""`--set a.b=value` overrides: typed by the schema, unknown keys refused with a close match."""

from __future__ import annotations

import pytest

from engine.errors import RecipeError
from engine.recipe.loading import load_recipe


def test_values_are_typed_by_the_schema() -> None:
    r = load_recipe("dpo", ["train.learning_rate=1e-5", "method.beta=0.2", "train.gradient_checkpointing=true",
                            "lora.target_modules=[q_proj, v_proj]", "train.max_steps=3"]).recipe
    assert r.train.learning_rate == 1e-5 and isinstance(r.train.learning_rate, float)
    assert r.method.beta == 0.2
    assert r.train.gradient_checkpointing is True
    assert r.lora is not None and r.lora.target_modules == ["q_proj", "v_proj"]
    assert r.train.max_steps == 3


def test_lora_null_means_full_fine_tuning() -> None:
    assert load_recipe("dpo", ["lora=null"]).recipe.lora is None


def test_switching_method_through_overrides() -> None:
    r = load_recipe("dpo", ["method.loss_type=ipo", "method.beta=0.5"]).recipe
    assert r.method.loss_type == "ipo"


def test_unknown_key_gets_a_suggestion() -> None:
    with pytest.raises(RecipeError) as exc:
        load_recipe("dpo", ["train.learnin_rate=1e-5"])
    assert exc.value.problems == ["--set train.learnin_rate: no such setting — did you mean `train.learning_rate`?"]


def test_unknown_section_and_malformed_items_are_all_reported() -> None:
    with pytest.raises(RecipeError) as exc:
        load_recipe("dpo", ["trian.max_steps=2", "no-equals-sign", "method.bta=1"])
    problems = exc.value.problems
    assert len(problems) == 3
    assert "did you mean `train`" in problems[0]
    assert "KEY=VALUE" in problems[1]
    assert "did you mean `method.beta`" in problems[2]


def test_out_of_range_override_is_a_validation_problem() -> None:
    with pytest.raises(RecipeError) as exc:
        load_recipe("dpo", ["method.beta=-0.1"])
    assert "method.beta: must be > 0 (got -0.1)" in exc.value.problems


def test_free_form_mapping_accepts_new_keys() -> None:
    r = load_recipe("dpo", ["data.fields.prompt=question"]).recipe
    assert r.data.fields == {"prompt": "question"}


def test_judge_settings_are_typed_by_their_kind() -> None:
    r = load_recipe("dpo", ["report.judge.kind=openai", "report.judge.url=http://127.0.0.1:8000/v1",
                            "report.judge.model=qwen", "report.judge.api_key_env=JUDGE_KEY"]).recipe
    assert r.report.judge is not None and r.report.judge.kind == "openai" and r.report.judge.api_key_env == "JUDGE_KEY"
    with pytest.raises(RecipeError) as exc:
        load_recipe("dpo", ["report.judge.urll=http://x"])
    assert exc.value.problems == ["--set report.judge.urll: no such setting — did you mean `report.judge.url`?"]
    with pytest.raises(RecipeError) as exc:
        load_recipe("dpo", ["report.judge.kind=openai", "report.judge.url=ftp://x", "report.judge.model=m"])
    assert any("report.judge.openai.url" in p and "ftp://x" in p for p in exc.value.problems)


def test_perplexity_data_is_resolved_from_the_recipe_folder(tmp_path) -> None:  # noqa: ANN001
    recipe = tmp_path / "r.yaml"
    recipe.write_text("method: {name: dpo}\ndata: {train: /abs/train.jsonl}\nreport: {perplexity_data: text.jsonl}\n")
    assert load_recipe(str(recipe)).recipe.report.perplexity_data == str(tmp_path / "text.jsonl")

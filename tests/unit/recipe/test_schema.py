"""Recipe schema and loading: defaults, closed sections, method union, every bundled recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.errors import RecipeError
from engine.paths import BUNDLED_RECIPES
from engine.recipe.bundled import bundled_recipes
from engine.recipe.loading import find_recipe, load_recipe, validate
from engine.recipe.method_settings import DPO_LOSS_TYPES
from engine.recipe.methods import METHOD_NAMES, METHODS
from engine.recipe.schema import Recipe
from engine.recipe.section import Section

MIN = {"data": {"train": "x.jsonl"}, "method": {"name": "dpo"}}


def test_minimal_recipe_gets_documented_defaults() -> None:
    r = validate(MIN)
    assert r.model.name == "smollm2-135m-instruct"
    assert r.lora is not None and r.lora.r == 16
    assert r.method.name == "dpo" and r.method.beta == 0.1 and r.method.loss_type == "sigmoid"


def test_every_field_has_a_description() -> None:
    def walk(model: type[Section]):
        for name, field in model.model_fields.items():
            yield model.__name__, name, field
    from engine.recipe.schema import (
        DataSection,
        DistributedSection,
        LoraSection,
        ModelSection,
        TrainSection,
    )

    for cls in (Recipe, ModelSection, LoraSection, DataSection, TrainSection, DistributedSection,
                *(spec.schema for spec in METHODS.values())):
        for owner, name, field in walk(cls):
            assert field.description, f"{owner}.{name} has no description"


@pytest.mark.parametrize("path", sorted(BUNDLED_RECIPES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_recipe_loads_and_starts_with_a_run_comment(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("#") and "reins run" in text.split("\n\n")[0]
    loaded = load_recipe(str(path))
    assert loaded.recipe.description
    assert Path(loaded.recipe.data.train).is_file()


def test_recipes_listing_names_each_bundled_file() -> None:
    names = {i.name for i in bundled_recipes()}
    assert {"sft", "dpo"} <= names


@pytest.mark.parametrize("loss", DPO_LOSS_TYPES)
def test_each_dpo_loss_type_is_accepted(loss: str) -> None:
    assert validate({**MIN, "method": {"name": "dpo", "loss_type": loss}}).method.loss_type == loss


def test_problems_are_reported_all_at_once_with_dotted_paths() -> None:
    raw = {"data": {"train": "x.jsonl"}, "method": {"name": "dpo", "beta": -0.1, "loss_type": "nope"},
           "train": {"learnin_rate": 1e-5, "batch_size": "four"}}
    with pytest.raises(RecipeError) as exc:
        validate(raw)
    problems = exc.value.problems
    assert "method.beta: must be > 0 (got -0.1)" in problems
    assert any(p.startswith("method.loss_type: must be one of") and "'nope'" in p for p in problems)
    assert "train.learnin_rate: unknown key — did you mean `learning_rate`?" in problems
    assert any(p.startswith("train.batch_size:") and "'four'" in p for p in problems)
    assert len(problems) == 4


def test_unknown_method_names_the_choices() -> None:
    with pytest.raises(RecipeError) as exc:
        validate({"data": {"train": "x.jsonl"}, "method": {"name": "dpoo"}})
    assert exc.value.problems == [f"method.name: unknown method 'dpoo' (choose from {', '.join(METHOD_NAMES)})"]
    assert {"sft", "rm", "ppo", "dpo", "kto", "orpo", "simpo", "cpo", "grpo", "rloo"} == set(METHOD_NAMES)


def test_label_smoothing_only_for_losses_that_use_it() -> None:
    with pytest.raises(RecipeError, match="label_smoothing"):
        validate({**MIN, "method": {"name": "dpo", "label_smoothing": 0.1}})
    assert validate({**MIN, "method": {"name": "dpo", "loss_type": "robust", "label_smoothing": 0.1}})


def test_quantization_requires_lora() -> None:
    with pytest.raises(RecipeError, match="QLoRA"):
        validate({**MIN, "lora": None, "model": {"quantization": "4bit"}})


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name: x\ntrain: [1, 2\n")
    with pytest.raises(RecipeError, match=r"line \d+, column \d+"):
        load_recipe(str(bad))


def test_unknown_recipe_suggests_the_close_one() -> None:
    with pytest.raises(RecipeError, match="Did you mean 'dpo'"):
        find_recipe("dpoo")


def test_data_paths_resolve_from_the_recipe_folder(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "p.jsonl").write_text("{}\n")
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"data": {"train": "d/p.jsonl"}, "method": {"name": "sft"}}))
    loaded = load_recipe(str(tmp_path / "r.yaml"))
    assert loaded.recipe.data.train == str((tmp_path / "d" / "p.jsonl").resolve())


def test_bundled_pipelines_parse_and_name_bundled_recipes() -> None:
    from engine.launching.pipeline import bundled_pipelines, find_pipeline

    pipes = {name: pipe for name, _, pipe in bundled_pipelines()}
    assert [s.name for s in pipes["pipelines/rlhf"].stages] == ["sft", "rm", "ppo"]
    assert [s.name for s in pipes["pipelines/dpo"].stages] == ["sft", "dpo"]
    assert [s.name for s in pipes["pipelines/demo"].stages] == ["judge", "dpo"]  # make demo: the judge first
    for pipe in pipes.values():
        for stage in pipe.stages:
            find_recipe(stage.recipe)
    assert find_pipeline("pipelines/rlhf") is not None and find_pipeline("dpo") is None  # `dpo` is the recipe


def test_pipeline_stage_references_must_point_backwards(tmp_path: Path) -> None:
    from engine.launching.pipeline import load_pipeline

    bad = tmp_path / "p.yaml"
    bad.write_text("stages:\n  - {name: a, recipe: sft, set: ['model.name=run:{b}']}\n  - {name: b, recipe: dpo}\n")
    with pytest.raises(RecipeError, match=r"refers to \{b\}, which is not an earlier stage"):
        load_pipeline(bad)

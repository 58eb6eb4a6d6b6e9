"""The method registry: every method is fully specified, every bundled recipe's method is registered, and the
tables that used to be written out per method are derived from it."""

from __future__ import annotations

import typing

import pytest
import yaml

from engine.paths import BUNDLED_RECIPES
from engine.recipe.methods import METHODS, STAGES, MethodSpec, charts_for, key_metrics, methods_where, stage_of
from engine.recipe.schema import Recipe, TrainSection

SPECS = list(METHODS.values())


def _ref(text: str) -> tuple[str, str]:
    module, sep, name = text.partition(":")
    assert sep and module and name.isidentifier(), f"{text!r} is not 'module:name'"
    return module, name


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_each_spec_is_complete_and_consistent_with_its_settings_class(spec: MethodSpec) -> None:
    settings = spec.schema
    name_field = settings.model_fields["name"].annotation
    assert typing.get_args(name_field) == (spec.name,), "the settings class is picked by this method's name"
    assert spec.title and spec.stage in STAGES and spec.data in typing.get_args(typing.get_type_hints(
        MethodSpec)["data"])
    _ref(spec.builder)
    _ref(spec.trl_config)
    assert spec.key_metrics and len(spec.headline) == 2
    for title, keys in spec.charts:
        assert title and keys
    # Every setting the registry names is a real field of the method's settings (or of the shared train section).
    for key in (*spec.key_settings, *spec.form_settings):
        assert key in settings.model_fields, f"{spec.name}: method.{key} is not a setting"
    for key in spec.unused_train:
        assert key in TrainSection.model_fields and spec.unused_train_note
    if spec.precomputes_reference:
        assert "precompute_ref_log_probs" in settings.model_fields
    if spec.reference_from_beta:
        assert "beta" in settings.model_fields


def test_every_bundled_recipe_names_a_registered_method() -> None:
    files = sorted(BUNDLED_RECIPES.glob("*.yaml"))
    methods = {yaml.safe_load(p.read_text())["method"]["name"] for p in files}
    assert methods and methods <= set(METHODS)
    # and the schema accepts exactly the registered methods
    union = typing.get_args(Recipe.model_fields["method"].annotation)  # pydantic keeps the discriminator apart
    assert {typing.get_args(cls.model_fields["name"].annotation)[0] for cls in union} == set(METHODS)


def test_reference_follows_beta_for_group_methods() -> None:
    from engine.recipe.loading import validate

    def recipe(method: str, beta: float) -> Recipe:
        return validate({"data": {"train": "x.jsonl"}, "train": {"batch_size": 4},
                         "method": {"name": method, "reward_model": "m", "beta": beta}})

    grpo, rloo = METHODS["grpo"], METHODS["rloo"]
    assert grpo.needs_reference(recipe("grpo", 0.0).method) is False
    assert grpo.needs_reference(recipe("grpo", 0.04).method) is True
    assert rloo.needs_reference(recipe("rloo", 0.0).method) is False and rloo.needs_reference() is True


@pytest.mark.parametrize(("method", "first", "fields"), [
    ("dpo", {"prompt": "p", "chosen": "a", "rejected": "b"}, ["prompt", "chosen", "rejected"]),
    ("rm", {"chosen": "a", "rejected": "b"}, ["chosen", "rejected"]),  # implicit prompt
    ("kto", {"prompt": "p", "completion": "c", "label": True}, ["prompt", "completion", "label"]),
    ("kto", {"prompt": "p", "chosen": "a", "rejected": "b"}, ["prompt", "chosen", "rejected"]),  # unpaired by TRL
    ("grpo", {"prompt": "p"}, ["prompt"]),
    ("sft", {"messages": []}, ["messages"]),
    ("sft", {"text": "t"}, ["text"]),
    ("sft", {"prompt": "p", "completion": "c"}, ["prompt", "completion"]),
])
def test_required_data_fields_follow_the_data_shape(method: str, first: dict, fields: list[str]) -> None:
    assert METHODS[method].required_fields(first) == fields


def test_derived_tables() -> None:
    from engine.verdict.history import RL_METHODS
    from engine.verdict.rules import REFERENCE_FREE

    assert RL_METHODS == {"ppo", "grpo", "rloo"} == methods_where(generates=True)
    assert REFERENCE_FREE == {"orpo", "cpo", "simpo"}
    assert key_metrics("dpo")[:3] == ("loss", "rewards/margins", "rewards/accuracies")
    assert key_metrics("a-method-from-another-tool") == ("loss", "grad_norm", "learning_rate")
    assert charts_for("nope")[0][0] == "loss" and stage_of("rm") == "Reward modelling" and stage_of("x") == "Other"


def test_the_registry_imports_nothing_heavy() -> None:
    # The TUI reads the registry at start-up: it must not pull in pydantic (the settings classes load on demand).
    import json
    import subprocess
    import sys

    code = "import sys, json, engine.recipe.methods; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))
    assert not {"pydantic", "yaml", "torch"} & {m.split(".")[0] for m in loaded}

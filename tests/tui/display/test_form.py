"""The Configure form's model: each method's own settings come first, what a field shows becomes a `--set`, and a
numeric field holding a comma list becomes a sweep."""

from __future__ import annotations

import pytest

from engine.recipe.loading import load_recipe
from tui.display.form import (
    form_fields,
    key_fields,
    override_text,
    sweep_field_for_problem,
    sweep_plan_text,
    sweep_text,
)


@pytest.mark.parametrize(("recipe", "own"), [
    ("kto", ("method.desirable_weight", "method.undesirable_weight")),
    ("ppo", ("method.kl_coef", "method.reward_model", "method.response_length")),
    ("grpo", ("method.num_generations", "method.reward_model")),
    ("simpo", ("method.simpo_gamma",)),
])
def test_configure_puts_each_methods_own_settings_first(recipe: str, own: tuple[str, ...]) -> None:
    r = load_recipe(recipe).recipe
    keys = set(key_fields(r.method.name))
    specs = [s.key for s in form_fields(r)]
    first = specs[: sum(1 for k in specs if k in keys)]
    assert set(own) <= set(first), f"{own} not among the key settings {first}"


def test_a_list_setting_becomes_a_yaml_list() -> None:
    spec = next(s for s in form_fields(load_recipe("dpo").recipe) if s.key == "lora.target_modules")
    assert override_text(spec, "q_proj, v_proj") == '["q_proj", "v_proj"]'
    assert override_text(spec, "all-linear") == '"all-linear"'


def test_data_train_stays_a_path_field_although_it_may_be_a_mixture() -> None:
    specs = {s.key: s for s in form_fields(load_recipe("dpo").recipe)}
    assert specs["data.train"].text_type == "str"  # a mixture is written in the recipe file, not the form
    assert override_text(specs["data.train"], "data/x.jsonl") == '"data/x.jsonl"'
    assert specs["data.format"].kind == "select" and "sharegpt" in specs["data.format"].choices


def test_only_a_numeric_field_holding_a_comma_list_sweeps() -> None:
    specs = {s.key: s for s in form_fields(load_recipe("dpo").recipe)}
    assert sweep_text(specs["method.beta"], "0.05, 0.1,0.5") == "0.05,0.1,0.5"
    assert sweep_text(specs["method.beta"], "0.1") is None
    assert sweep_text(specs["train.max_steps"], "10,20") == "10,20"
    assert sweep_text(specs["lora.target_modules"], "q_proj, v_proj") is None  # a list: its commas separate items
    assert sweep_text(specs["method.loss_type"], "sigmoid,ipo") is None


def test_the_sweep_line_counts_runs_and_the_memory_each_needs() -> None:
    members = [{"label": "beta=0.05", "need_gib": 2.06, "merged": []}, {"label": "beta=0.1", "need_gib": 2.06,
                                                                        "merged": ["beta=0.10"]}]
    assert sweep_plan_text(members) == "2 runs (1 identical merged) · 2.06 GiB each"
    members = [{"need_gib": 1.2}, {"need_gib": 3.4}, {"need_gib": None}]
    assert sweep_plan_text(members) == "3 runs · 1.20–3.40 GiB each (1 not estimated)"


@pytest.mark.parametrize(("problem", "key"), [
    ("beta=abc: method.beta: input should be a valid number", "method.beta"),
    ("--grid 'method.beta=0.1,': expected KEY=V1,V2,…", "method.beta"),
    ("batch_size=0: train.batch_size: must be > 0 (got 0)", "train.batch_size"),
    ("eval_batch_size=0: train.eval_batch_size: must be > 0", "train.eval_batch_size"),
    ("the data file is missing", None),
])
def test_a_sweep_error_lands_under_the_field_it_names(problem: str, key: str | None) -> None:
    assert sweep_field_for_problem(problem, ["train.batch_size", "method.beta", "train.eval_batch_size"]) == key

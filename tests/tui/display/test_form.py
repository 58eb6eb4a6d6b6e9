"""The Configure form's model: each method's own settings come first, and what a field shows becomes a `--set`."""

from __future__ import annotations

import pytest

from engine.recipe.loading import load_recipe
from tui.display.form import form_fields, key_fields, override_text


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

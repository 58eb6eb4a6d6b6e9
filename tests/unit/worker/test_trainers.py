"""The worker's side of the method registry: each method's builder and TRL config resolve, and a setting that would
reach no TRL field is an error instead of being dropped."""

from __future__ import annotations

import importlib
from dataclasses import fields
from pathlib import Path

import pytest

from engine.recipe.loading import load_recipe, validate
from engine.recipe.methods import METHODS, MethodSpec
from engine.worker.trainers import BuildContext, builder_for, common_args


def _config_class(spec: MethodSpec) -> type:
    module, _, name = spec.trl_config.partition(":")
    return getattr(importlib.import_module(module), name)


def _recipe(method: str):  # noqa: ANN202
    return validate({"data": {"train": "x.jsonl"}, "train": {"batch_size": 4},
                     "method": {"name": method, **({"reward_model": "m"} if METHODS[method].generates else {})}})


@pytest.mark.parametrize("spec", list(METHODS.values()), ids=lambda s: s.name)
def test_builder_and_config_resolve_and_unused_train_settings_are_exactly_declared(spec: MethodSpec,
                                                                                   tmp_path: Path) -> None:
    assert callable(builder_for(spec.name))
    known = {f.name for f in fields(_config_class(spec))}
    shared = common_args(_recipe(spec.name), tmp_path, has_eval=True)
    # the shared arguments TRL's config lacks are the ones the registry declares, no more, no fewer
    assert set(shared) - known == set(spec.unused_train)


def _context(method: str, tmp_path: Path) -> BuildContext:
    return BuildContext(_recipe(method), model=None, tokenizer=None, train=None, eval=None, output_dir=tmp_path,
                        callbacks=[])


def test_a_method_setting_that_reaches_no_trl_field_is_an_error(tmp_path: Path) -> None:
    from trl import DPOConfig

    config = _context("dpo", tmp_path).config(DPOConfig, beta=0.2)
    assert config.beta == 0.2 and config.max_length == 512
    with pytest.raises(TypeError, match="no field betta"):
        _context("dpo", tmp_path).config(DPOConfig, betta=0.2)


def test_a_shared_setting_the_config_lacks_is_left_out_only_when_declared(tmp_path: Path) -> None:
    from trl import DPOConfig, GRPOConfig

    grpo = _context("grpo", tmp_path).config(GRPOConfig, num_generations=4)
    assert not hasattr(grpo, "max_length")  # declared in the registry: left out, and `validate` says so
    with pytest.raises(TypeError, match="no field max_length"):
        # DPO's spec declares nothing unused: a DPO recipe built into a config that lacks max_length must fail
        _context("dpo", tmp_path).config(GRPOConfig, num_generations=4)
    assert _context("dpo", tmp_path).config(DPOConfig).max_length == 512


def test_validate_says_which_shared_settings_do_not_apply() -> None:
    from engine.launching.preflight import preflight_warnings

    def notes(*overrides: str) -> list[str]:
        recipe = load_recipe("grpo", ["method.reward_model=/no/such/model", *overrides]).recipe
        return [w for w in preflight_warnings(recipe) if "does not apply" in w]

    assert any("train.max_length does not apply to grpo" in w and "GRPOConfig" in w for w in notes())
    dpo = load_recipe("dpo", ["train.max_length=128"]).recipe
    assert not [w for w in preflight_warnings(dpo) if "does not apply" in w]


def test_dpo_sft_weight_adds_trl_sft_loss_with_its_weight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trl

    from engine.worker.trainers import build_dpo

    made: dict = {}
    monkeypatch.setattr(trl, "DPOTrainer", lambda **kw: made.update(kw) or kw)
    for weight, losses, weights in ((0.0, ["sigmoid"], None), (0.5, ["sigmoid", "sft"], [1.0, 0.5])):
        recipe = load_recipe("dpo", [f"method.sft_weight={weight}"]).recipe
        build_dpo(BuildContext(recipe, model=None, tokenizer=None, train=None, eval=None, output_dir=tmp_path,
                               callbacks=[]))
        assert made["args"].loss_type == losses and made["args"].loss_weights == weights

"""`method.trl` (any other field of the method's TRL config) and `train.report_to` (trackers): checked at validate
against the generated TRL field table, without torch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from engine.errors import RecipeError
from engine.launching.preflight import missing_package_problems
from engine.recipe import trackers, trl_settings
from engine.recipe.keysettings import key_settings
from engine.recipe.loading import dump_recipe, load_recipe


def _problems(*sets: str) -> list[str]:
    with pytest.raises(RecipeError) as caught:
        load_recipe("dpo", list(sets))
    return caught.value.problems


def test_a_real_trl_field_passes_and_is_kept_with_its_type() -> None:
    r = load_recipe("dpo", ["method.trl.use_liger_kernel=true", "method.trl.precompute_ref_batch_size=8",
                            "method.trl.padding_free=true"]).recipe
    assert r.method.trl == {"use_liger_kernel": True, "precompute_ref_batch_size": 8, "padding_free": True}


def test_a_misspelt_field_is_refused_with_the_closest_real_one() -> None:
    (problem,) = _problems("method.trl.use_ligr_kernel=true")
    version = ".".join(trl_settings.field_table()["trl"].split(".")[:2])
    assert problem == (f"method.trl: `use_ligr_kernel` is not a field of TRL {version}.x's DPOConfig — did you mean "
                       "`use_liger_kernel`?")


@pytest.mark.parametrize(("key", "ours"), [("beta", "method.beta"), ("learning_rate", "train.learning_rate"),
                                           ("precompute_ref_log_probs", "method.precompute_ref_log_probs"),
                                           ("gradient_checkpointing", "train.gradient_checkpointing"),
                                           ("max_length", "train.max_length"), ("loss_weights", "method.sft_weight"),
                                           ("report_to", "train.report_to")])
def test_a_field_a_reins_setting_fills_names_that_setting(key: str, ours: str) -> None:
    (problem,) = _problems(f"method.trl.{key}=1")
    assert problem == f"method.trl: `{key}` is a Reins setting: set `{ours}` instead"


def test_the_mapping_follows_the_method() -> None:
    # GRPO has no max_length (its completions are method.max_completion_length): not a field of its config at all
    assert trl_settings.reins_field("grpo", "num_generations") == "method.num_generations"
    assert trl_settings.reins_field("ppo", "kl_coef") == "method.kl_coef"
    assert trl_settings.reins_field("kto", "precompute_ref_log_probs") is None  # no Reins setting: method.trl's
    assert trl_settings.setting_path("kto", "precompute_ref_log_probs") == "method.trl.precompute_ref_log_probs"
    assert trl_settings.setting_path("dpo", "precompute_ref_log_probs") == "method.precompute_ref_log_probs"
    assert trl_settings.setting_path("sft", "precompute_ref_log_probs") is None


def test_fields_reins_owns_and_values_of_the_wrong_kind_are_refused() -> None:
    assert _problems("method.trl.output_dir=/tmp/x") == \
        ["method.trl: `output_dir` is set by Reins (checkpoints go to the run folder)"]
    (problem,) = _problems("method.trl.padding_free=maybe")
    assert problem.startswith("method.trl: `padding_free` takes bool (got 'maybe', a str)")


def test_trl_settings_are_key_settings() -> None:
    r = load_recipe("dpo", ["method.trl.use_liger_kernel=true"]).recipe
    settings = key_settings(r.model_dump(mode="json"))
    assert settings["trl.use_liger_kernel"] is True and settings["beta"] == r.method.beta
    assert not any(k.startswith("trl.") for k in key_settings(load_recipe("dpo").recipe.model_dump(mode="json")))


def test_report_to_takes_trl_tracker_names() -> None:
    assert load_recipe("dpo", ["train.report_to=tensorboard"]).recipe.train.report_to == ["tensorboard"]
    assert load_recipe("dpo", ["train.report_to=[wandb, trackio, wandb]"]).recipe.train.report_to == \
        ["wandb", "trackio"]
    assert load_recipe("dpo", ["train.report_to=none"]).recipe.train.report_to == []
    (problem,) = _problems("train.report_to=[tensorbord]")
    assert problem.startswith("train.report_to: unknown tracker 'tensorbord' — did you mean `tensorboard`?")


def test_a_missing_package_is_named_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("liger_kernel", "wandb") else real(name, *a))
    r = load_recipe("dpo", ["method.trl.use_liger_kernel=true", "train.report_to=[wandb]"]).recipe
    assert missing_package_problems(r) == [
        "train.report_to has wandb, but its package `wandb` is not installed: pip install wandb (or `pip install "
        "reins[trackers]`)",
        "method.trl.use_liger_kernel needs the package `liger_kernel`, which is not installed: pip install "
        "liger-kernel"]
    off = load_recipe("dpo", ["method.trl.use_liger_kernel=false"]).recipe
    assert missing_package_problems(off) == []  # switched off: nothing to install


def test_trackers_write_into_the_run_folder_unless_the_environment_says_otherwise(tmp_path: Path) -> None:
    tb, other = tmp_path / "tb", tmp_path / "trackers"
    env = trackers.tracker_env(["tensorboard", "wandb", "mlflow"], "run-1", tb, other, {})
    assert env["TENSORBOARD_LOGGING_DIR"] == str(tb)
    assert env["WANDB_MODE"] == "offline" and env["WANDB_DIR"] == str(other) and env["WANDB_RUN_ID"] == "run-1"
    assert env["MLFLOW_TRACKING_URI"].startswith("file://") and "TRACKIO_DIR" not in env
    user = {"WANDB_MODE": "online", "TENSORBOARD_LOGGING_DIR": "/elsewhere"}
    env = trackers.tracker_env(["tensorboard", "wandb"], "run-1", tb, other, user)
    assert "WANDB_MODE" not in env  # the user's choice stands
    assert env["TENSORBOARD_LOGGING_DIR"] == str(tb)  # tb/ is where Reins' readers look


def test_a_field_table_made_for_another_trl_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    assert trl_settings.table_drift() is None  # the committed table is the installed TRL's (test_trl_fields)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9")
    problem = trl_settings.table_drift()
    assert "TRL 9.9.9 is installed" in problem and "python -m engine.worker.trl_fields" in problem


def test_the_resolved_recipe_lists_the_method_name_first_and_trl_last() -> None:
    loaded = load_recipe("dpo", ["method.trl.padding_free=true"])
    method = yaml.safe_load(dump_recipe(loaded.recipe))["method"]
    keys = list(method)
    assert keys[0] == "name" and keys[-1] == "trl" and method["trl"] == {"padding_free": True}

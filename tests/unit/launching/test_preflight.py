"""Pre-flight warnings: legal but suspicious settings warn (never fail), and the bundled recipes warn about nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.launching.preflight import preflight_warnings
from engine.paths import BUNDLED_RECIPES
from engine.recipe.loading import load_recipe


def recipe(name: str, *overrides: str):
    return load_recipe(name, list(overrides)).recipe


@pytest.mark.parametrize("name", [p.stem for p in sorted(BUNDLED_RECIPES.glob("*.yaml"))
                                  if p.stem not in ("ppo", "grpo", "rloo")])
def test_bundled_recipes_raise_no_warning(name: str, tiny_model: Path) -> None:
    # The tiny model carries the embedded model's tokenizer, so token counts are the real ones.
    assert preflight_warnings(recipe(name, f"model.name={tiny_model}")) == []


def test_learning_rate_and_beta_out_of_range_warn(tiny_model: Path) -> None:
    warnings = preflight_warnings(recipe("dpo", f"model.name={tiny_model}", "train.learning_rate=1e-2",
                                         "method.beta=3"))
    assert any("train.learning_rate=0.01 is outside" in w for w in warnings)
    assert any("method.beta=3 is outside" in w for w in warnings)
    full = preflight_warnings(recipe("dpo", f"model.name={tiny_model}", "lora=null", "train.learning_rate=2e-4"))
    assert any("for full fine-tuning" in w for w in full)  # a LoRA-sized rate is too high without LoRA


def test_truncation_warns_with_the_95th_percentile(tiny_model: Path) -> None:
    warnings = preflight_warnings(recipe("dpo", f"model.name={tiny_model}", "train.max_length=64"))
    assert any("longer than train.max_length=64" in w and "95th percentile" in w for w in warnings)


def test_model_without_chat_template_warns_for_preference_methods(tiny_model: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    cfg = bare / "tokenizer_config.json"
    import json

    data = json.loads(cfg.read_text())
    data.pop("chat_template", None)
    cfg.write_text(json.dumps(data))
    assert any("no chat template" in w for w in preflight_warnings(recipe("dpo", f"model.name={bare}")))
    assert not any("no chat template" in w for w in preflight_warnings(recipe("sft", f"model.name={bare}")))


def test_checkpoint_comparison_without_saved_checkpoints_warns(tiny_model: Path) -> None:
    def warnings(*overrides: str) -> list[str]:
        return [w for w in preflight_warnings(recipe("dpo", f"model.name={tiny_model}", "train.max_length=1024",
                                                     *overrides)) if "report.checkpoints" in w]

    assert warnings() == []  # off by default
    (unsaved,) = warnings("report.checkpoints=true")
    assert "train.save_steps is unset" in unsaved and "except the final one" in unsaved
    assert "train.save_steps=4" in unsaved  # a fifth of max_steps=20
    (pruned,) = warnings("report.checkpoints=true", "train.save_steps=5")  # saves 5, 10, 15, 20; keeps 2
    assert "keeps only the last 2" in pruned and "train.save_total_limit=4" in pruned
    assert warnings("report.checkpoints=true", "train.save_steps=5", "train.save_total_limit=4") == []
    (no_pairs,) = warnings("report.checkpoints=true", "train.save_steps=10", "report.pairs=0")
    assert "held-out preference pairs" in no_pairs

"""Key settings in the Runs table: what each method's runs show, from run.json or, for older runs, recipe.yaml."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.recipe.keysettings import key_settings
from engine.recipe.loading import load_recipe
from tui.display.rows import read_settings, settings_text


@pytest.mark.parametrize(("recipe", "expected"), [
    ("dpo", "β0.1 sigmoid lr"),
    ("ipo", " ipo lr"),
    ("kto", "w+1 w−1"),
    ("simpo", "γ"),
    ("ppo", "kl0.05"),
    ("grpo", "G4"),
    ("rloo", "G"),
    ("sft", "lr"),
])
def test_every_bundled_recipe_has_its_methods_key_settings(recipe: str, expected: str) -> None:
    r = load_recipe(recipe).recipe
    text = settings_text(key_settings(r.model_dump(mode="json")))
    assert expected in text
    assert text.endswith("r16")  # every bundled recipe trains a rank-16 LoRA adapter


def test_settings_text_says_full_fine_tuning_and_quantization() -> None:
    assert settings_text({"beta": 0.1, "loss_type": "sigmoid", "lr": 2e-4, "lora_r": 16}) == "β0.1 sigmoid lr2e-4 r16"
    data = {"method": {"name": "dpo", "beta": 0.5}, "lora": None, "model": {"quantization": "4bit"},
            "train": {"learning_rate": 1e-5}}
    assert settings_text(key_settings(data)) == "β0.5 lr1e-5 full 4bit"
    assert key_settings({"method": {"name": "dpo"}})["lora_r"] == 16  # no lora section: the schema's default


def test_recorded_settings_win_over_the_recipe_file(tmp_path: Path) -> None:
    view = SimpleNamespace(record={"settings": {"kl_coef": 0.2}}, dir=SimpleNamespace(path=tmp_path))
    assert read_settings(view) == {"kl_coef": 0.2}  # no recipe.yaml needed


def test_launch_records_key_settings_in_run_json(tmp_path: Path, tiny_model: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.launching.launcher import launch

    # No worker: only what the launcher writes is checked.
    monkeypatch.setattr("engine.launching.launcher.start_worker", lambda rd, cmd, *_: rd.update(pid=os.getpid()) and 0)
    view = launch("dpo", [f"model.name={tiny_model}", "train.max_steps=2", "method.loss_type=ipo", "lora.r=8"],
                  runs_dir=tmp_path / "runs")
    record = json.loads((view.dir.path / "run.json").read_text())
    assert record["settings"] == {"beta": 0.1, "loss_type": "ipo", "lr": 0.0002, "lora_r": 8}
    assert settings_text(read_settings(view)) == "β0.1 ipo lr2e-4 r8"

"""Key settings in the Runs table: what each method's runs show, from run.json or, for older runs, recipe.yaml; the
place of queued runs and the GPUs of live ones."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.recipe.keysettings import key_settings
from engine.recipe.loading import load_recipe
from tui.display.rows import devices_text, read_settings, run_rows, settings_text


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


@pytest.mark.parametrize(("devices", "text"), [
    ([], ""), (None, ""), ([0], "0"), ([0, 1], "0,1"), ([0, 1, 2, 3], "0-3"), ([3, 1], "1,3"),
    ([0, 1, 2, 5, 6, 7], "0-2,5-7"), (["0"], ""),
])
def test_the_gpus_a_run_holds_read_short(devices: object, text: str) -> None:
    assert devices_text(devices) == text


def test_queued_runs_show_their_place_and_live_runs_their_gpus(tmp_path: Path, fake_runs: SimpleNamespace) -> None:
    from engine.runs.rundir import RunDir
    from engine.runs.store import RunStore

    runs = tmp_path / "runs"
    fake_runs.write_run(runs, "20260921-100000-done")
    RunDir(runs / "20260921-100000-done").update(devices=[0])  # an ended run holds nothing
    fake_runs.write_run(runs, "20260921-110000-live", live=True, steps=3)
    RunDir(runs / "20260921-110000-live").update(devices=[1, 2])
    # Higher priority first, then the order of submission (`seq`), whatever the folders' order.
    fake_runs.write_queued(runs, "20260921-120000-late", seq=fake_runs.T0 + 2)
    fake_runs.write_queued(runs, "20260921-130000-early", seq=fake_runs.T0 + 1)
    fake_runs.write_queued(runs, "20260921-140000-urgent", seq=fake_runs.T0 + 3, priority=5)
    rows = {r.id.split("-", 2)[2]: r for r in run_rows(RunStore(runs).refresh())}
    assert {k: r.status_text for k, r in rows.items()} == {
        "done": "completed", "live": "running", "late": "queued #3", "early": "queued #2", "urgent": "queued #1"}
    assert (rows["done"].gpus, rows["live"].gpus, rows["late"].gpus) == ("", "1,2", "")

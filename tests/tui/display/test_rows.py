"""Key settings per method: what the Runs table shows for each run and what the Configure form puts first."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_runs import write_run, write_store  # noqa: E402
from test_flows import settle  # noqa: E402

from engine.recipe.keysettings import key_settings  # noqa: E402
from engine.recipe.loading import load_recipe  # noqa: E402
from tui.app import make_app  # noqa: E402
from tui.display.form import form_fields, key_fields  # noqa: E402
from tui.display.rows import read_settings, settings_text  # noqa: E402


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


@pytest.mark.anyio
async def test_runs_table_shows_and_filters_by_key_settings(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_store(runs)
    write_run(runs, "20260921-150000-old-kto", method="kto", record_settings=False)  # read from its recipe.yaml
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("DataTable")
        assert str(table.get_cell("20260921-120000-ipo", "settings")) == "β0.1 ipo lr2e-4 r16"
        assert str(table.get_cell("20260921-150000-old-kto", "settings")).startswith("β0.1 w+1 w−1 lr")
        await pilot.press("slash", *"β0.3")
        await settle(pilot, app)
        assert [r.id for r in screen.visible_rows()] == ["20260921-110000-dpo-beta03"]


def test_launch_records_key_settings_in_run_json(tmp_path: Path, tiny_model: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import os

    from engine.launching.launcher import launch

    from support import write_recipe

    # No worker: only what the launcher writes is checked.
    monkeypatch.setattr("engine.launching.launcher.start_worker", lambda rd, cmd: rd.update(pid=os.getpid()) and 0)
    recipe = write_recipe(tmp_path / "dpo.yaml", "dpo", tiny_model, train={"max_steps": 2})
    view = launch(recipe, ["method.loss_type=ipo", "lora.r=8"], runs_dir=tmp_path / "runs")
    record = json.loads((view.dir.path / "run.json").read_text())
    assert record["settings"] == {"beta": 0.1, "loss_type": "ipo", "lr": 0.0002, "lora_r": 8}
    assert settings_text(read_settings(view)) == "β0.1 ipo lr2e-4 r8"

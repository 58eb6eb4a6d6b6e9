"""Sweep members: the grid's combinations × seeds, checked before anything is queued, identical ones merged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.errors import RecipeError
from engine.recipe.loading import load_recipe
from engine.sweeps.plan import expand, plan
from engine.sweeps.spec import SweepSpec, find_sweep, load_sweep, parse_grid, with_overrides


def test_grid_items_from_the_command_line() -> None:
    assert parse_grid(["method.beta=0.05,0.1", "train.learning_rate=1e-5"]) == {
        "method.beta": [0.05, 0.1], "train.learning_rate": ["1e-5"]}  # typed later by the schema
    for bad in (["method.beta"], ["method.beta="], ["method.beta=0.1,,0.5"], ["=1,2"]):
        with pytest.raises(RecipeError, match="KEY=V1,V2"):
            parse_grid(bad)
    with pytest.raises(RecipeError, match="given twice"):
        parse_grid(["method.beta=0.1", "method.beta=0.5"])
    with pytest.raises(RecipeError, match="sweep file"):
        parse_grid(["lora.target_modules=[q_proj]"])


def test_every_combination_with_seeds_and_readable_labels() -> None:
    spec = SweepSpec(recipe="dpo", set=["train.max_steps=4"], grid={"method.beta": [0.1, 0.5],
                                                                     "train.learning_rate": [1e-5, 5e-5]}, seeds=2)
    members = expand(spec, base_seed=42)
    assert len(members) == 8
    assert members[0].label == "beta=0.1 learning_rate=1e-05 seed=42"
    assert members[1].overrides == ["train.max_steps=4", "method.beta=0.1", "train.learning_rate=1e-05",
                                    "train.seed=43"]
    assert {m.seed for m in members} == {42, 43}


def test_plan_merges_identical_members_and_reads_list_values(runs_dir: Path) -> None:
    spec = SweepSpec(recipe="dpo", grid={"method.beta": [0.1, 0.10, 0.5],
                                         "lora.target_modules": [["q_proj", "v_proj"], "all-linear"]})
    members = plan(spec, runs_dir)
    assert [m.label for m in members] == ['beta=0.1 target_modules=["q_proj", "v_proj"]',
                                          "beta=0.1 target_modules=all-linear",
                                          'beta=0.5 target_modules=["q_proj", "v_proj"]',
                                          "beta=0.5 target_modules=all-linear"]
    assert members[0].merged == ['beta=0.1 target_modules=["q_proj", "v_proj"]']  # 0.10 is 0.1
    loaded = load_recipe("dpo", members[0].overrides)
    assert loaded.recipe.lora.target_modules == ["q_proj", "v_proj"]


def test_bad_members_are_named_before_anything_is_queued(runs_dir: Path) -> None:
    spec = SweepSpec(recipe="dpo", grid={"method.beta": [-1, 0.1], "train.learning_rate": [1e-5]})
    with pytest.raises(RecipeError) as err:
        plan(spec, runs_dir)
    assert "1 problem" in str(err.value)
    assert err.value.problems == ["beta=-1 learning_rate=1e-05: method.beta: must be > 0 (got -1)"]
    assert not runs_dir.exists()
    with pytest.raises(RecipeError, match="did you mean `method.beta`"):
        plan(SweepSpec(recipe="dpo", grid={"method.betta": [0.1]}), runs_dir)


def test_a_grid_of_more_than_64_members_needs_yes(runs_dir: Path) -> None:
    spec = SweepSpec(recipe="dpo", grid={"method.beta": [round(0.01 * i, 2) for i in range(1, 34)]}, seeds=2)
    with pytest.raises(RecipeError, match="66 members"):
        plan(spec, runs_dir)
    assert len(plan(spec, runs_dir, yes=True)) == 66
    with pytest.raises(RecipeError, match="use one of the two"):
        plan(SweepSpec(recipe="dpo", grid={"train.seed": [1, 2]}, seeds=2), runs_dir)


def test_the_bundled_beta_sweep_is_the_seed_lessons(runs_dir: Path) -> None:
    path = find_sweep("sweeps/beta")
    assert path is not None and find_sweep("dpo") is None
    spec = load_sweep(path)
    assert spec.grid == {"method.beta": [0.05, 0.1, 0.5, 1.0]}
    assert [s.name for s in spec.stages] == ["judge"] and any("{judge}" in s for s in spec.set)
    assert len(plan(spec, runs_dir)) == 4


def test_set_reaches_the_members_and_stage_set_only_its_stage(runs_dir: Path) -> None:
    from engine import api

    beta = load_sweep(find_sweep("sweeps/beta"))
    spec = with_overrides(beta, ["train.max_steps=8", "judge:train.max_steps=10", "judge:train.seed=7"])
    (judge,) = spec.stages
    assert judge.set == [*beta.stages[0].set, "train.max_steps=10", "train.seed=7"]
    assert spec.set == [*beta.set, "train.max_steps=8"]
    members = plan(spec, runs_dir)
    assert len(members) == 4
    assert all(m.overrides[-2:] == ["train.max_steps=8", f"method.beta={m.point['method.beta']}"] for m in members)
    assert load_recipe(judge.recipe, judge.set).recipe.train.max_steps == 10
    with pytest.raises(RecipeError, match="no stage 'rm'.*its stages are judge"):
        with_overrides(beta, ["rm:train.max_steps=10"])
    with pytest.raises(RecipeError, match="no stage 'judge'.*it has no stages"):
        api.plan_sweep("dpo", ["method.beta=0.1,0.5"], overrides=["judge:train.max_steps=10"], runs_dir=runs_dir)
    # a value may hold a colon (run:{judge}): only a stage name before the key makes an item a stage's
    assert with_overrides(beta, ["report.judge.model=run:x"]).set[-1] == "report.judge.model=run:x"


def test_a_broken_sweep_file_says_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"recipe": "dpo", "grid": {"method.beta": []}, "seeds": 0}))
    with pytest.raises(RecipeError) as err:
        load_sweep(bad)
    assert any("seeds" in p for p in err.value.problems) and any("no values" in p for p in err.value.problems)

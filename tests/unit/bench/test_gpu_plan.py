"""bench/gpu_plan.py and gpu_check.py's dry run: the plan fits the budget, puts the must-haves first, and every
Reins point is a recipe the real schema accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from engine import api


@pytest.fixture(scope="module")
def plan(gp: ModuleType) -> object:
    return gp.make_plan(480.0, gp.H200_GIB)


def test_dry_run_prints_a_plan_that_fits_eight_minutes(gc: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert gc.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"(\d+) points, expected (\d+) s of the 480 s budget", out)
    assert m and int(m.group(1)) >= 10 and int(m.group(2)) <= 480
    assert "speed-reins" in out and "path-oom" in out


def test_the_plan_covers_what_the_issue_asks_within_the_budget(gp: ModuleType, plan: object) -> None:
    kept = plan.kept
    assert plan.expected_s <= plan.budget_s
    ids = {pl.point.id for pl in kept}
    assert {"speed-reins", "speed-plain", "path-qlora-dpo", "path-oom", "path-posteval-bf16"} <= ids
    assert {pl.point.method for pl in kept} == set(gp.METHODS)
    assert {pl.point.mode for pl in kept} == set(gp.MODES)
    assert {pl.point.size for pl in kept} == set(gp.SIZES)
    assert {pl.point.checkpointing for pl in kept} == {False, True}
    # starts are cumulative: each point starts after the previous one's expected seconds
    starts = [pl.start_s for pl in kept]
    assert starts == sorted(starts) and starts[0] == gp.PREFLIGHT_S


def test_a_smaller_budget_keeps_the_first_points_and_stays_inside(gp: ModuleType, plan: object) -> None:
    small = gp.make_plan(150.0, gp.H200_GIB)
    assert small.expected_s <= 150.0 and 0 < len(small.kept) < len(plan.kept)
    assert small.kept[0].point == plan.kept[0].point
    assert all(pl.note == "over the time budget" for pl in small.items if not pl.in_budget and pl.note
               and not pl.note.startswith("recipe refused"))


def test_grid_points_fit_the_card_and_the_oom_point_does_not(gp: ModuleType, plan: object) -> None:
    for pl in plan.kept:
        if pl.point.expect == "completed":
            assert pl.estimate.total_gib <= gp.FIT_SHARE * gp.H200_GIB, pl.point.id
        else:
            assert pl.estimate.total_gib > gp.H200_GIB, pl.point.id


def test_order_takes_the_point_adding_most_per_second_first(gp: ModuleType) -> None:
    est = gp.estimate_point(gp.smoke_plan().items[0].point, None)

    def planned(pid: str, tags: dict[str, float], seconds: float) -> object:
        return gp.Planned(gp.Point(pid, "grid", "sft", "lora", "tiny", 1, 64, tags=tags), est, seconds)

    a = planned("a", {"x": 4, "y": 4}, 30)
    b = planned("b", {"x": 4}, 10)  # same gain per second as a on its own, but a covers x too
    c = planned("c", {"y": 4, "z": 1}, 30)
    d = planned("d", {"x": 1}, 1)  # adds nothing once x is covered: never planned
    assert [p.point.id for p in gp.order([a, b, c, d])] == ["a", "c"]


def test_every_kept_point_passes_the_launchers_checks(gp: ModuleType, vv: ModuleType, plan: object,
                                                     tmp_path: Path) -> None:
    """The recipe, its model reference and its data pass `api.validate_recipe` (what `launch` runs first)."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama", **gp.SMOKE_CONFIG}))
    for pl in plan.kept:
        p = pl.point
        if p.runner != "reins":
            continue
        data = tmp_path / f"{p.method}-{p.max_length}.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in vv.synthetic_rows(
            "sft" if p.method == "sft" else "dpo", p.max_length, n=4)))
        path = tmp_path / f"{p.id}.yaml"
        path.write_text(json.dumps(gp.recipe_dict(p, model, data)))  # JSON is YAML
        recipe = api.validate_recipe(path).recipe
        assert recipe.train.max_steps == p.steps and recipe.train.batch_size == p.batch
        assert recipe.report.enabled == p.report
        if p.method == "grpo":
            assert recipe.method.max_completion_length == p.max_length // 2
            assert recipe.method.reward_model == str(model)
        assert (recipe.model.quantization == "4bit") == (p.mode == "qlora")


def test_a_setting_the_schema_lacks_is_left_out_with_the_reason(gp: ModuleType) -> None:
    liger = next(p for p in gp.special_points() if p.id == "speed-reins-liger")
    why = gp.unavailable(liger)
    assert why is None or "trl" in why  # available once the recipe has TRL's passthrough (method.trl)
    assert gp.unavailable(next(p for p in gp.special_points() if p.id == "speed-plain-liger")) is None


def test_cost_model_orders_what_costs_more(gp: ModuleType) -> None:
    base = gp.Point("p", "grid", "dpo", "lora", "qwen2.5-1.5b", 8, 1024)
    assert gp.expected_seconds(base.__class__(**{**base.__dict__, "size": "llama-3.1-8b"})) > gp.expected_seconds(base)
    assert gp.expected_seconds(base.__class__(**{**base.__dict__, "mode": "qlora"})) > gp.expected_seconds(base)
    n = 1e9
    assert gp.train_flops_per_token(base, n) == 6 * n  # LoRA 4N + reference forward 2N
    assert gp.train_flops_per_token(base.__class__(**{**base.__dict__, "precompute_ref": True}), n) == 4 * n
    assert gp.train_flops_per_token(base.__class__(**{**base.__dict__, "method": "sft", "mode": "full"}), n) == 6 * n
    assert gp.tokens_per_step(base) == 8 * 2 * 1024


@pytest.mark.parametrize("argv, message", [
    (["--dry-run", "--budget-s", "0"], "--budget-s must be positive"),
    ([], "give an output folder"),
    (["OUT", "--tokenizer", "/nonexistent"], "no tokenizer_config.json"),
    pytest.param(["OUT"], "no CUDA device", marks=pytest.mark.skipif(
        __import__("torch").cuda.is_available(), reason="a GPU is here: the check would run")),
])
def test_bad_arguments_exit_2_with_a_message(gc: ModuleType, argv: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = [str(tmp_path / a) if a == "OUT" else a for a in argv]
    assert gc.main(argv) == 2
    assert message in capsys.readouterr().err

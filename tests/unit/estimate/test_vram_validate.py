"""bench/vram_validate.py without a GPU: grid, recipes and estimates are built; only the measuring needs CUDA."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from engine.recipe.loading import load_recipe

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("vram_validate", ROOT / "bench" / "vram_validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["vram_validate"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_dry_run_builds_the_whole_grid_with_estimates(bench, tmp_path: Path) -> None:
    out = tmp_path / "v.csv"
    assert bench.main(["--dry-run", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 * 3 * 2 * 3  # SFT/DPO × full/LoRA/QLoRA × checkpointing × 3 sizes
    assert all(float(r["estimate_allocator_gib"]) > 0 and r["measured_gib"] == "" for r in rows)
    by_id = {r["case"]: r for r in rows}
    for r in rows:
        if r["checkpointing"] == "True":
            twin = by_id[r["case"].replace("-ckpt-", "-nockpt-")]
            assert float(r["estimate_allocator_gib"]) < float(twin["estimate_allocator_gib"])
    # every case's recipe is a valid Reins recipe the launcher would accept
    recipes = sorted((tmp_path / "vram_validate_work" / "recipes").glob("*.yaml"))
    assert len(recipes) == len(rows)
    loaded = load_recipe(recipes[0]).recipe
    assert loaded.train.max_steps == 3 and loaded.data.train.endswith(".jsonl")
    data = tmp_path / "vram_validate_work" / "data" / "dpo-512.jsonl"
    first = json.loads(data.read_text().splitlines()[0])
    assert len(first["chosen"].split()) >= 512  # long enough to fill max_length
    assert "| dpo |" in out.with_suffix(".md").read_text()
    # a second chunk with --append keeps the first chunk's rows and replaces the cases it runs again
    assert bench.main(["--dry-run", "--out", str(out), "--append", "--sizes", "smollm2-135m", "--methods", "sft"]) == 0
    assert len(list(csv.DictReader(out.open()))) == len(rows)


def test_error_table_reports_mean_max_and_worst_under_estimate(bench) -> None:
    rows = [{"method": "sft", "error_pct": 10.0}, {"method": "sft", "error_pct": -20.0},
            {"method": "dpo", "error_pct": 5.0}, {"method": "dpo", "error_pct": ""}]
    table = {t["method"]: t for t in bench.error_table(rows)}
    assert table["sft"] == {"method": "sft", "cases": 2, "mean_abs_pct": 15.0, "mean_signed_pct": -5.0,
                            "max_abs_pct": 20.0, "worst_under_pct": -20.0}
    assert table["dpo"]["cases"] == 1 and table["dpo"]["worst_under_pct"] == 0.0
    assert table["all"]["cases"] == 3


def test_without_cuda_the_measuring_run_refuses_clearly(bench, tmp_path: Path, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert bench.main(["--out", str(tmp_path / "v.csv"), "--sizes", "smollm2-135m"]) == 2
    assert "no CUDA device" in capsys.readouterr().err

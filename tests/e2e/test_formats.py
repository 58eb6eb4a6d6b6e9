"""Real public files in each format Reins reads (tests/fixtures/formats/) train two steps through the real
subprocess on the tiny model, and the run records each data file's content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
CASES: dict[str, tuple[str, Any, dict[str, Any]]] = {
    "sharegpt-pairs": ("dpo", "dpo_en_demo.json", {}),
    "hh": ("dpo", "hh_rlhf_seed.jsonl", {}),
    "openai-kto": ("kto", "kto_en_demo.json", {"max_length": 512}),
    "alpaca": ("sft", "alpaca_en_demo.json", {}),
    "sharegpt-toolcall": ("sft", "glaive_toolcall_en_demo.json", {}),
    "mixture": ("dpo", [("dpo_en_demo.json", 2.0), ("hh_rlhf_seed.jsonl", 1.0)], {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_format_trains_two_steps(case: str, tmp_path: Path, tiny_model: Path, tiny_recipe, reins,
                                      metric_events) -> None:
    base, files, train = CASES[case]
    if isinstance(files, list):
        train_data: Any = [{"path": str(FORMATS / name), "weight": w} for name, w in files]
        names = [name for name, _ in files]
    else:
        train_data, names = str(FORMATS / files), [files]
    recipe = tiny_recipe(tmp_path, tiny_model, base, steps=2, data={"train": train_data, "eval": None, "max_rows": 8},
                         train={"batch_size": 2, **train})
    res = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "runs")
    assert res.returncode == 0, res.stderr[-4000:]
    run = json.loads(res.stdout)
    assert run["status"] == "completed"
    assert len(metric_events(Path(run["path"]))) == 2
    record = json.loads((Path(run["path"]) / "run.json").read_text())
    hashes = {Path(f["path"]).name: f["sha256"] for f in record["data_files"] if f["role"] == "train"}
    assert hashes == {n: hashlib.sha256((FORMATS / n).read_bytes()).hexdigest() for n in names}


# Shapes no public file here shows, written by us as their formats document them.
WRITTEN = {
    "alpaca-pairs": ("dpo", "auto", [{"instruction": f"Name a colour ({i})", "input": "", "chosen": "Blue.",
                                      "rejected": "I cannot name colours."} for i in range(8)]),
    "openai-sft": ("sft", "openai", [{"messages": [{"role": "system", "content": "Be brief."},
                                                   {"role": "user", "content": f"{i} + 1?"},
                                                   {"role": "assistant", "content": str(i + 1)}]} for i in range(8)]),
}


@pytest.mark.parametrize("case", sorted(WRITTEN))
def test_written_formats_train_two_steps(case: str, tmp_path: Path, tiny_model: Path, tiny_recipe, reins,
                                         write_jsonl, metric_events) -> None:
    base, fmt, rows = WRITTEN[case]
    data = write_jsonl(tmp_path / f"{case}.jsonl", rows)
    recipe = tiny_recipe(tmp_path, tiny_model, base, steps=2, data={"train": str(data), "eval": None, "format": fmt})
    res = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "runs")
    assert res.returncode == 0, res.stderr[-4000:]
    run = json.loads(res.stdout)
    assert run["status"] == "completed" and len(metric_events(Path(run["path"]))) == 2

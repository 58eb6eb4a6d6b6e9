"""`reins export model` without loading a model: bad input exits 2 with a message, and without --merge a LoRA run's
adapter is copied with a model card that carries the report's verdict, recipe and data."""

from __future__ import annotations

import json
import os
from pathlib import Path

RUN = "20261127-000000-dpo"
JUDGE = {"kind": "openai", "model": "j", "n": 2, "wins": 1, "ties": 1, "losses": 0, "win_rate": 0.75,
         "ci95": [0.3, 0.95]}


def _run(root: Path, make_run, write_recipe, status: str = "completed", final: bool = True) -> Path:
    live = os.getpid() if status == "running" else None  # a running run's process must be alive to read as running
    rd = make_run(root, RUN, status=status, pid=live, events=[
        ("status", {"status": "running", "max_steps": 4}),
        ("metric", {"step": 4, "split": "train", "values": {"loss": 0.61, "rewards/margins": 0.4}}),
        ("evaluation", {"step": 4, "values": {"samples": 2, "judge": JUDGE}}),
        *([("status", {"status": status, "summary": {"steps": 4}})] if status == "completed" else [])])
    write_recipe(rd.recipe, "dpo", "smollm2-135m-instruct")
    if final:
        rd.final.mkdir()
        (rd.final / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 16}))
        (rd.final / "adapter_model.safetensors").write_bytes(b"weights")
    return rd.path


def test_adapter_copied_with_a_card(tmp_path: Path, make_run, write_recipe, reins) -> None:
    _run(tmp_path / "runs", make_run, write_recipe)
    target = tmp_path / "out"
    res = reins("export", "model", RUN, "-o", str(target), "--json", runs=tmp_path / "runs")
    assert res.returncode == 0, res.stderr
    done = json.loads(res.stdout)
    assert done["kind"] == "adapter" and done["dtype"] is None
    assert sorted(done["files"]) == ["README.md", "adapter_config.json", "adapter_model.safetensors"]
    assert (target / "adapter_model.safetensors").read_bytes() == b"weights"
    card = (target / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: peft\ntags:\n- reins\n- dpo\n")
    assert "## Verdict: inconclusive" in card  # the report's decision: the win rate's interval straddles 0.5
    assert "win rate 0.75 (1/1/0 W/T/L)" in card
    assert "| loss | 0.6100 | — |" in card and "LoRA adapter only" in card
    assert "- train: `" in card and "name: dpo" in card  # the data sources and the recipe as launched
    assert not list(tmp_path.glob(".out.partial-*"))


def test_bad_input_exits_2_without_a_traceback(tmp_path: Path, make_run, write_recipe, reins) -> None:
    runs = tmp_path / "runs"
    _run(runs, make_run, write_recipe, status="running")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("keep me")
    cases = {
        ("nope", "-o", str(tmp_path / "a")): "No run 'nope'",
        (RUN, "-o", str(tmp_path / "b")): "has not finished (status running)",
        (RUN, "-o", str(tmp_path / "c"), "--dtype", "fp32"): "--dtype goes with --merge",
        (RUN, "-o", str(tmp_path / "c"), "--merge", "--dtype", "int4"): "Unknown --dtype 'int4'",
    }
    for args, message in cases.items():
        res = reins("export", "model", *args, runs=runs)
        assert res.returncode == 2 and "Traceback" not in res.stderr, (args, res.stderr)
        assert message in " ".join(res.stderr.split()), (args, res.stderr)
    done = tmp_path / "done"
    _run(done, make_run, write_recipe)
    res = reins("export", "model", RUN, "-o", str(occupied), runs=done)
    assert res.returncode == 2 and "already exists and is not an empty folder" in " ".join(res.stderr.split())
    assert (occupied / "x").read_text() == "keep me"
    bare = tmp_path / "bare"
    _run(bare, make_run, write_recipe, final=False)
    res = reins("export", "model", RUN, "-o", str(tmp_path / "d"), runs=bare)
    assert res.returncode == 2 and "saved no trained model" in res.stderr

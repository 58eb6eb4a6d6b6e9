"""`reins report RUN --probes`: the capability probes run again on a finished run in a worker process, never in the
CLI. The run is a completed run folder whose final/ holds a LoRA adapter (random, non-zero) on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.runs.events import read_all
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e
RUN_ID = "20261127-010000-dpo"
JUDGE = {"kind": "openai", "model": "j", "n": 2, "wins": 1, "ties": 1, "losses": 0, "win_rate": 0.75,
         "ci95": [0.3, 0.95]}
REPORT = {"probes": ["arithmetic", "knowledge"], "probe_items": 3, "probes_max_new_tokens": 6,
          "lm_eval": {"tasks": ["arc_easy"]}}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, make_run, write_recipe, tiny_model: Path,
                 random_adapter) -> Path:
    runs = tmp_path_factory.mktemp("reprobe") / "runs"
    run = make_run(runs, RUN_ID, events=[
        ("status", {"status": "running", "max_steps": 4}),
        ("sample", {"step": 4, "index": 0, "prompt": "Hi", "reference": "Hello.", "policy": "Hello there."}),
        ("evaluation", {"step": 4, "values": {"samples": 1, "judge": JUDGE, "errors": {"probes": "an old failure"}}}),
        ("status", {"status": "completed", "summary": {"steps": 4}})])
    write_recipe(run.recipe, "dpo", tiny_model, report=REPORT)
    random_adapter(run.final, tiny_model)
    return runs


def test_probes_run_again_in_a_worker_and_are_recorded(store: Path, reins_imports) -> None:
    res, heavy = reins_imports("report", RUN_ID, "--probes", "--json", runs=store)
    assert res.returncode == 0, res.stderr[-3000:]
    assert heavy == [], f"the CLI process imported {heavy}"
    text = " ".join(res.stderr.split())
    assert "probes (reference → policy): arithmetic" in text and "lm_eval failed: LmEvalMissing" in text
    evaluation = json.loads(res.stdout)["evaluation"]
    probes = evaluation["probes"]
    assert list(probes) == ["arithmetic", "knowledge"]
    assert all(p["n"] == 3 and len(p["items"]) == 3 for p in probes.values())
    assert evaluation["judge"] == JUDGE and evaluation["samples"] == 1  # the other figures are kept
    assert set(evaluation["errors"]) == {"lm_eval"}  # the old probes failure is replaced by the new result
    assert "lm-evaluation-harness) is not installed" in evaluation["errors"]["lm_eval"]
    rd = RunDir(store / RUN_ID)
    evaluations = [e for e in read_all(rd.events) if e["kind"] == "evaluation"]
    assert len(evaluations) == 2 and evaluations[-1]["step"] == 4 and evaluations[-1]["values"]["probes"] == probes
    md = rd.report_md.read_text()
    assert "## Capability probes: reference → policy" in md and "| knowledge (3 items) |" in md
    assert "- lm_eval: LmEvalMissing: lm_eval (lm-evaluation-harness) is not installed" in md
    assert "Traceback" not in rd.reprobe_log.read_text()
    # the reference is the base model and the policy the adapter on it: the same scores loaded here
    assert probes["knowledge"]["items"] == _knowledge_in_process(store, rd)


def _knowledge_in_process(runs: Path, rd: RunDir) -> list[list[int]]:
    from peft import PeftModel

    from engine.verdict.healthcheck import recipe_of
    from engine.worker.loading import load_model
    from engine.worker.measuring import Models
    from engine.worker.probing import run_probes

    recipe = recipe_of(rd.path)
    recipe = recipe.model_copy(update={"report": recipe.report.model_copy(update={"probes": ["knowledge"]})})
    base, tokenizer, _ = load_model(recipe, runs)
    policy = PeftModel.from_pretrained(base, str(rd.final))
    return run_probes(recipe, Models(SimpleNamespace(model=policy), lambda: None), tokenizer)["knowledge"]["items"]


def test_an_unfinished_run_is_refused_before_any_worker_starts(store: Path, make_run, reins) -> None:
    running = make_run(store, "20261127-020000-dpo", status="running",
                       events=[("status", {"status": "running", "max_steps": 4})])
    res = reins("report", running.id, "--probes", runs=store, timeout=120)
    assert res.returncode == 2 and "has not finished" in res.stderr and "Traceback" not in res.stderr
    assert not running.reprobe_log.exists()


def test_a_run_without_a_trained_model_is_refused(store: Path, make_run, reins) -> None:
    failed = make_run(store, "20261127-030000-dpo", events=[("status", {"status": "failed", "error": "x"})])
    res = reins("report", failed.id, "--probes", runs=store, timeout=120)
    assert res.returncode == 2 and "saved no trained model" in " ".join(res.stderr.split())
    assert not failed.reprobe_log.exists()

"""`reins report RUN --judge-local MODEL` and `reins report A --against B` with a local chat judge: the model judges in
a worker process, never in the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runs.events import read_all
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e
RUN_ID, OTHER_ID = "20261127-010000-dpo", "20261127-020000-dpo"
SAMPLES = [{"prompt": "How do I ask for feedback?", "reference": "Ask.",
            "policy": "Ask your manager for one specific example of what to change."},
           {"prompt": "Name a colour.", "reference": "Blue.", "policy": "Blue."}]


def _run(make_run, runs: Path, run_id: str, answers: list[str]):
    return make_run(runs, run_id, events=[
        ("status", {"status": "running", "max_steps": 4}),
        *[("sample", {"step": 4, "index": i, **s, "policy": a})
          for i, (s, a) in enumerate(zip(SAMPLES, answers, strict=True))],
        ("evaluation", {"step": 4, "values": {"samples": 2}}),
        ("status", {"status": "completed", "summary": {"steps": 4}})])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, make_run, write_recipe, tiny_model: Path) -> Path:
    runs = tmp_path_factory.mktemp("local-judge") / "runs"
    run = _run(make_run, runs, RUN_ID, [s["policy"] for s in SAMPLES])
    write_recipe(run.recipe, "dpo", tiny_model)  # how the judged run loads models (dtype, quantization)
    _run(make_run, runs, OTHER_ID, ["Just ask.", "Red."])
    return runs


def test_local_judge_rejudges_stored_samples_without_torch_in_the_cli(store: Path, tiny_model: Path,
                                                                      reins_imports) -> None:
    res, heavy = reins_imports("report", RUN_ID, "--judge-local", str(tiny_model), "--json", runs=store)
    assert res.returncode == 0, res.stderr[-3000:]
    assert heavy == [], f"the CLI process imported {heavy}"
    report = json.loads(res.stdout)
    judge = report["evaluation"]["judge"]
    assert (judge["kind"], judge["n"]) == ("local", 2) and judge["lengths"]["policy"] > judge["lengths"]["reference"]
    first, same = report["samples"]
    assert same["winner"] == "tie" and "scores" not in same  # identical answers
    a, b = first["scores"]["policy_as_a"], first["scores"]["policy_as_b"]
    assert first["winner"] == ("policy" if a > 0 and b > 0 else "reference" if a < 0 and b < 0 else "tie")
    assert "Traceback" not in RunDir(store / RUN_ID).rejudge_log.read_text()


def test_against_with_a_local_judge(store: Path, tiny_model: Path, reins_imports) -> None:
    res, heavy = reins_imports("report", RUN_ID, "--against", OTHER_ID, "--judge-local", str(tiny_model), "--json",
                               runs=store)
    assert res.returncode == 0, res.stderr[-3000:]
    assert heavy == []
    result = json.loads(res.stdout)
    assert result["against"] == OTHER_ID and result["prompts"]["matched"] == 2 and result["judge"]["n"] == 2
    assert all("scores" in v for v in result["verdicts"])  # every pair differs: each was asked in both orders
    events = [e for e in read_all(RunDir(store / RUN_ID).events) if e["kind"] == "head_to_head"]
    assert events[-1]["judge"] == result["judge"]
    assert f"against {OTHER_ID}" in RunDir(store / RUN_ID).report_md.read_text()

"""`reins report RUN --judge-run …`: a reward model scores the stored samples in a worker process, never in the CLI.

The reward-model "run" is a completed run folder whose final/ holds a tiny random sequence classifier built here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runs.events import read_all
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e
RM_ID = "20261127-000000-rm"
RUN_ID = "20261127-010000-dpo"
SAMPLES = [{"prompt": "How do I ask for feedback?", "reference": "Ask.",
            "policy": "Ask your manager for one specific example of what to change."},
           {"prompt": "Name a colour.", "reference": "Blue.", "policy": "Blue."}]


def _reward_model(folder: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from engine.worker.loading import embedded_tokenizer

    tok = embedded_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), num_labels=1, pad_token_id=tok.pad_token_id, hidden_size=32,
                         intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
    LlamaForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, make_run, write_recipe) -> Path:
    """A completed reward-model run and a completed DPO run with stored samples and no judge verdicts yet."""
    runs = tmp_path_factory.mktemp("rejudge") / "runs"
    rm = make_run(runs, RM_ID, events=[("status", {"status": "completed", "summary": {"steps": 2}})])
    _reward_model(rm.final)
    run = make_run(runs, RUN_ID, events=[
        ("status", {"status": "running", "max_steps": 4}),
        *[("sample", {"step": 4, "index": i, **s}) for i, s in enumerate(SAMPLES)],
        ("evaluation", {"step": 4, "values": {"samples": 2}}),
        ("status", {"status": "completed", "summary": {"steps": 4}})])
    write_recipe(run.recipe, "dpo", rm.final)  # how the judged run loads models (dtype, quantization)
    return runs


def test_reward_model_scores_stored_samples_without_torch_in_the_cli(store: Path, reins_imports) -> None:
    res, heavy = reins_imports("report", RUN_ID, "--judge-run", f"run:{RM_ID[:15]}", "--json", runs=store)
    assert res.returncode == 0, res.stderr[-3000:]
    assert heavy == [], f"the CLI process imported {heavy}"
    assert f"judged 2 samples with run:{RM_ID}" in res.stderr  # the id prefix was pinned to the full run id
    report = json.loads(res.stdout)
    judge = report["evaluation"]["judge"]
    assert (judge["kind"], judge["model"], judge["n"]) == ("reward_model", f"run:{RM_ID}", 2)
    samples = report["samples"]
    assert [s["policy"] for s in samples] == [s["policy"] for s in SAMPLES]
    # identical answers score identically; each verdict follows from the two scores
    assert samples[1]["scores"]["policy"] == samples[1]["scores"]["reference"] and samples[1]["winner"] == "tie"
    p, r = samples[0]["scores"]["policy"], samples[0]["scores"]["reference"]
    assert p != r and samples[0]["winner"] == ("policy" if p > r else "reference")
    assert _scores_in_process(store) == [s["scores"] for s in samples]  # the same model, loaded here
    assert "Traceback" not in RunDir(store / RUN_ID).rejudge_log.read_text()


def _scores_in_process(runs: Path) -> list[dict]:
    from engine.verdict.healthcheck import recipe_of
    from engine.worker.loading import load_model
    from engine.worker.posteval import score_with_reward_model

    samples = [dict(s) for s in SAMPLES]
    model, tokenizer, _ = load_model(recipe_of(runs / RUN_ID), runs, ref=f"run:{RM_ID}", task="seq-cls")
    score_with_reward_model(model, tokenizer, samples, 0.0)
    return [s["scores"] for s in samples]


def test_a_broken_reward_model_fails_clearly(store: Path, tmp_path: Path, reins) -> None:
    broken = tmp_path / "broken-rm"
    broken.mkdir()
    (broken / "config.json").write_text((store / RM_ID / "final" / "config.json").read_text())  # no weights
    before = len(read_all(RunDir(store / RUN_ID).events))
    res = reins("report", RUN_ID, "--judge-run", str(broken), runs=store, timeout=300)
    assert res.returncode == 1, res.stderr
    text = " ".join(res.stderr.split())
    assert text.startswith("error: The reward-model judge") and "failed (exit code 1)" in text
    assert "Traceback" not in res.stderr and str(RunDir(store / RUN_ID).rejudge_log) in text
    assert "Traceback" in RunDir(store / RUN_ID).rejudge_log.read_text()  # the whole story is in the log
    assert len(read_all(RunDir(store / RUN_ID).events)) == before  # nothing half-judged was recorded


def test_a_causal_lm_is_refused_as_a_judge_before_any_worker_starts(store: Path, tiny_model: Path, reins) -> None:
    log = RunDir(store / RUN_ID).rejudge_log
    log.unlink(missing_ok=True)
    res = reins("report", RUN_ID, "--judge-run", str(tiny_model), runs=store, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "not a reward model" in " ".join(res.stderr.split()) and "Traceback" not in res.stderr
    assert not log.exists()


def test_an_unfinished_run_is_refused_before_any_worker_starts(store: Path, make_run, reins) -> None:
    running = make_run(store, "20261127-020000-dpo", status="running",
                       events=[("status", {"status": "running", "max_steps": 4})])
    res = reins("report", running.id, "--judge-run", f"run:{RM_ID}", runs=store, timeout=120)
    assert res.returncode == 2 and "has not finished" in res.stderr
    assert not running.rejudge_log.exists()

"""The capability probes' worker part on a tiny random model, and lm-evaluation-harness absent or faked."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.recipe.loading import load_recipe
from engine.runs.events import EventWriter, read_all
from engine.verdict.probes import load_suite


@pytest.fixture(scope="module")
def tiny(tiny_model: Path) -> tuple[Any, Any, Any]:
    """Policy, reference (other random weights) and tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    from engine.worker.loading import load_tokenizer

    policy = AutoModelForCausalLM.from_pretrained(tiny_model)
    reference = AutoModelForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(torch.randn_like(p) * 0.5)  # the "trained" policy answers differently from its reference
    return policy, reference, load_tokenizer(tiny_model)


def _models(policy: Any, reference: Any) -> Any:
    from engine.worker.measuring import Models

    return Models(SimpleNamespace(model=policy), load_reference=lambda: reference)  # a trainer with no ref_model


def test_every_suite_runs_on_both_models_and_keeps_its_items(tiny, tmp_path: Path) -> None:
    from engine.worker.probing import run_probes

    policy, reference, tok = tiny
    recipe = load_recipe("dpo", ["report.probe_items=3", "report.probes_max_new_tokens=4"]).recipe
    with EventWriter(tmp_path / "events.jsonl") as writer:
        out = run_probes(recipe, _models(policy, reference), tok, writer, step=7)
    assert list(out) == ["arithmetic", "knowledge", "format", "refusal"]
    for r in out.values():
        assert set(r) == {"n", "reference", "policy", "change", "ci95", "dropped", "items"}
        assert r["n"] == len(r["items"]) == 3 and all(a in (0, 1) and b in (0, 1) for a, b in r["items"])
        assert r["reference"] == round(sum(a for a, _ in r["items"]) / 3, 4)
        assert r["policy"] == round(sum(b for _, b in r["items"]) / 3, 4)
        assert r["change"] == pytest.approx(r["policy"] - r["reference"], abs=1e-4)
    phases = [e for e in read_all(tmp_path / "events.jsonl") if e["kind"] == "phase"]
    assert [(e["step"], e["name"]) for e in phases] == [(7, "capability probes")] * 4
    assert phases[1]["detail"] == "knowledge (3 items), suite 2 of 4"


def test_knowledge_picks_the_option_with_the_best_log_prob_per_token(tiny, monkeypatch) -> None:
    """The right option is the most likely per token but not in total (it is longer): per token must win."""
    import engine.worker.probing as probing

    items = load_suite("knowledge", 5)
    calls: list[int] = []

    def fake_logps(model: Any, tokenizer: Any, seqs: list) -> list[tuple[float, int]]:
        calls.append(len(seqs))
        assert all(start < len(ids) for ids, start in seqs)  # every option has tokens to score after the question
        return [(-10.0, 10) if j == item["answer"] else (-4.0, 2) for item in items for j in range(4)]

    monkeypatch.setattr(probing, "token_logps", fake_logps)
    recipe = load_recipe("dpo", ["report.probes=[knowledge]", "report.probe_items=5"]).recipe
    out = probing.run_probes(recipe, _models(*tiny[:2]), tiny[2])
    assert calls == [20, 20]  # 5 questions × 4 options, once per model
    assert out["knowledge"]["items"] == [[1, 1]] * 5


def test_a_missing_lm_eval_is_recorded_and_the_rest_of_the_evaluation_runs(tiny, tmp_path: Path, monkeypatch) -> None:
    from engine.worker.posteval import evaluate_after_training

    monkeypatch.setitem(sys.modules, "lm_eval", None)  # `import lm_eval` raises ImportError, as when not installed
    recipe = load_recipe("dpo", ["report.samples=0", "report.pairs=0", "report.perplexity_texts=0",
                                 "report.probes=[format]", "report.probe_items=2", "report.probes_max_new_tokens=4",
                                 "report.lm_eval.tasks=[arc_easy]"]).recipe
    with EventWriter(tmp_path / "events.jsonl") as writer:
        values = evaluate_after_training(recipe, _models(*tiny[:2]), tiny[2], [], writer, 4, lambda ref: (None, None))
    assert values["errors"] == {"lm_eval": "LmEvalMissing: lm_eval (lm-evaluation-harness) is not installed: `pip "
                                           "install lm-eval`; its tasks must already be in the local datasets cache "
                                           "— Reins never downloads"}
    assert values["probes"]["format"]["n"] == 2
    (event,) = [e for e in read_all(tmp_path / "events.jsonl") if e["kind"] == "evaluation"]
    assert event["values"]["probes"] == values["probes"] and "lm_eval" in event["values"]["errors"]


def test_lm_eval_runs_offline_on_reference_then_policy_and_compares_them(tiny, monkeypatch) -> None:
    import datasets.config

    from engine.worker.lm_eval_probe import run_lm_eval

    policy, reference, tok = tiny
    calls: list[dict[str, Any]] = []

    class HFLM:
        def __init__(self, pretrained: Any, tokenizer: Any) -> None:
            self.pretrained, self.tokenizer = pretrained, tokenizer

    def simple_evaluate(model: HFLM, tasks: list[str], limit: int | None) -> dict[str, Any]:
        calls.append({"model": model.pretrained, "tokenizer": model.tokenizer, "tasks": tasks, "limit": limit,
                      "env": {k: os.environ.get(k) for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")},
                      "datasets_offline": datasets.config.HF_DATASETS_OFFLINE})
        acc = 0.7 if len(calls) == 1 else 0.5
        return {"results": {"arc_easy": {"acc,none": acc, "acc_stderr,none": 0.02}}}

    fake = types.ModuleType("lm_eval")
    fake.simple_evaluate = simple_evaluate
    models_pkg, hf = types.ModuleType("lm_eval.models"), types.ModuleType("lm_eval.models.huggingface")
    hf.HFLM = HFLM
    fake.models, models_pkg.huggingface = models_pkg, hf
    for name, module in (("lm_eval", fake), ("lm_eval.models", models_pkg), ("lm_eval.models.huggingface", hf)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)  # read from the environment at import

    cfg = load_recipe("dpo", ["report.lm_eval.tasks=[arc_easy]", "report.lm_eval.limit=10"]).recipe.report.lm_eval
    out = run_lm_eval(cfg, _models(policy, reference), tok)
    assert [c["model"] for c in calls] == [reference, policy]
    assert all(c["tokenizer"] is tok and c["tasks"] == ["arc_easy"] and c["limit"] == 10 for c in calls)
    assert all(c["env"] == {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"} and c["datasets_offline"] is True
               for c in calls)
    assert os.environ["HF_DATASETS_OFFLINE"] == "0" and "HF_HUB_OFFLINE" not in os.environ  # restored afterwards
    assert datasets.config.HF_DATASETS_OFFLINE is False
    arc = out["arc_easy"]
    assert (arc["metric"], arc["reference"], arc["policy"], arc["change"], arc["dropped"]) == \
        ("acc", 0.7, 0.5, -0.2, True)

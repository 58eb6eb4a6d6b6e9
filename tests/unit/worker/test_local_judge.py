"""The local chat-model judge on a tiny random chat model: a verdict per sample that follows from its log-prob gaps in
both orders, batch-independent scores, prompts kept within max_length, and the judge inside the post-training
evaluation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.recipe.schema import LocalJudge, Recipe
from engine.runs.events import EventWriter, read_all

SAMPLES = [{"prompt": "How do I boil an egg?", "policy": "Put it in boiling water for nine minutes.",
            "reference": "Boil it."},
           {"prompt": "Name a colour.", "policy": "Blue.", "reference": "Blue."},
           {"prompt": "Say hello.", "policy": "Hello there, friend!", "reference": "Hi."}]


@pytest.fixture(scope="module")
def judge(tiny_model: Path):
    from transformers import AutoModelForCausalLM

    from engine.worker.loading import load_tokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model), load_tokenizer(tiny_model)


def _expected(scores: dict) -> str:
    a, b = scores["policy_as_a"], scores["policy_as_b"]
    return "policy" if a > 0 and b > 0 else "reference" if a < 0 and b < 0 else "tie"


def test_a_verdict_per_sample_from_the_gaps_in_both_orders(judge) -> None:
    from engine.worker.posteval import _judge

    asked = []

    def load(ref: str, task: str):
        asked.append((ref, task))
        return judge

    samples = [dict(s) for s in SAMPLES]
    result = _judge(LocalJudge(kind="local", model="tiny"), samples, load)
    assert asked == [("tiny", "causal")]  # a chat model, not a sequence classifier
    assert result["kind"] == "local" and result["n"] == 3 and "length_matched" in result
    assert result["wins"] + result["ties"] + result["losses"] == 3
    assert samples[1]["winner"] == "tie" and "scores" not in samples[1]  # identical answers: not asked
    for s in (samples[0], samples[2]):
        assert set(s["scores"]) == {"policy_as_a", "policy_as_b"} and s["scores"]["policy_as_a"] != 0
        assert s["winner"] == _expected(s["scores"])
    again = [dict(s) for s in SAMPLES]
    _judge(LocalJudge(kind="local", model="tiny"), again, load)
    assert [s.get("scores") for s in again] == [s.get("scores") for s in samples]  # deterministic


def test_gaps_do_not_depend_on_the_batch(judge) -> None:
    from engine.worker.local_judge import judge_prompt_ids, letter_gaps

    model, tok = judge
    seqs = [judge_prompt_ids(tok, s["prompt"], s["policy"], s["reference"], 2048) for s in SAMPLES]
    together = letter_gaps(model, tok, seqs)
    alone = [letter_gaps(model, tok, [s])[0] for s in seqs]
    assert together == pytest.approx(alone, abs=1e-4)


def test_long_answers_are_shortened_to_fit_max_length(judge) -> None:
    from engine.worker.local_judge import judge_prompt_ids

    _, tok = judge
    ids = judge_prompt_ids(tok, "q", "word " * 400, "other " * 400, max_length=256)
    text = tok.decode(ids)
    assert len(ids) <= 256 and text.endswith("<|im_start|>assistant\n")
    assert text.count(" …") == 2 and "Answer A:" in text and "Answer B:" in text  # both cut, equally
    assert judge_prompt_ids(tok, "q", "a", "b", max_length=256) == judge_prompt_ids(tok, "q", "a", "b", 2048)


def test_the_local_judge_runs_in_the_post_training_evaluation(tmp_path: Path, tiny_model: Path, judge) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from engine.worker.measuring import Models
    from engine.worker.posteval import evaluate_after_training

    model, tok = judge
    reference = AutoModelForCausalLM.from_pretrained(tiny_model)
    torch.manual_seed(1)
    with torch.no_grad():  # another "reference", so the two answer differently and the judge has work to do
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    recipe = Recipe.model_validate({
        "data": {"train": "x.jsonl"}, "method": {"name": "dpo"},
        "report": {"samples": 2, "max_new_tokens": 6, "pairs": 0, "perplexity_texts": 0,
                   "judge": {"kind": "local", "model": "tiny"}}})
    trainer = SimpleNamespace(model=model, ref_model=reference, accelerator=None)
    held_out = [{"prompt": [{"role": "user", "content": s["prompt"]}]} for s in SAMPLES]
    with EventWriter(tmp_path / "events.jsonl") as writer:
        values = evaluate_after_training(recipe, Models(trainer, lambda: reference), tok, held_out, writer, 3,
                                         lambda ref, task: judge)
    assert "errors" not in values, values.get("errors")
    assert values["judge"]["kind"] == "local" and values["judge"]["n"] == 2 and "lengths" in values["judge"]
    samples = [e for e in read_all(tmp_path / "events.jsonl") if e["kind"] == "sample"]
    assert len(samples) == 2 and all(s["policy"] != s["reference"] for s in samples)
    assert all(s["winner"] == _expected(s["scores"]) for s in samples)

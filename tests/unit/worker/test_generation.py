"""Batched greedy generation: the same answers as one prompt at a time, in the prompts' order, with progress."""

from __future__ import annotations

from pathlib import Path

import pytest

PROMPTS = ["Hi", [{"role": "user", "content": "Name three rivers in Europe and say which is longest."}],
           "A much longer plain prompt about the weather in the mountains this week, with some detail", "Why?",
           [{"role": "user", "content": "Two plus two?"}]]


@pytest.fixture(scope="module")
def loaded(tiny_model: Path):  # noqa: ANN201
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model).eval(), AutoTokenizer.from_pretrained(tiny_model)


def test_batched_answers_equal_one_at_a_time_in_prompt_order(loaded) -> None:  # noqa: ANN001
    from engine.worker.measuring import generate

    model, tok = loaded
    one = [generate(model, tok, [p], 12, seed=0, batch=1)[0] for p in PROMPTS]
    seen: list[tuple[int, int]] = []
    batched = generate(model, tok, PROMPTS, 12, seed=0, batch=2, progress=lambda d, t: seen.append((d, t)))
    assert batched == one  # left padding and length-sorted batches change nothing but speed
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert len(set(one)) > 1  # the prompts got different answers, so order mattered


def test_padding_side_is_restored_and_batch_size_defaults_by_device(loaded) -> None:  # noqa: ANN001
    from engine.worker.measuring import batch_size, generate

    model, tok = loaded
    tok.padding_side = "right"
    generate(model, tok, PROMPTS[:2], 4, seed=0)
    assert tok.padding_side == "right"
    assert batch_size(model, None) == 16 and batch_size(model, 5) == 5  # CPU default; the recipe's wins


def test_answer_tokens_count_the_policy_tokenizer_tokens(loaded) -> None:  # noqa: ANN001
    from engine.worker.measuring import answer_tokens

    _, tok = loaded
    text = "Paris is the capital of France."
    assert answer_tokens(tok, [text, ""]) == [len(tok(text, add_special_tokens=False)["input_ids"]), 0]

"""Items from the three kinds of file and from a run's samples; clear messages for rows with nothing to annotate."""

from __future__ import annotations

import pytest

from engine.annotation.items import CandidateError, as_text, file_items, run_items


def test_pairs_prompts_with_answers_and_single_answers_make_items() -> None:
    rows = [{"prompt": "p1", "chosen": "good", "rejected": "bad"},
            {"prompt": "p2", "answers": ["x", "y", "z"]},
            {"prompt": [{"role": "user", "content": "p3"}], "completion": [{"role": "assistant", "content": "c"}]}]
    items = file_items(rows, "f.jsonl")
    assert [i.id for i in items] == ["1", "2.0-1", "2.0-2", "2.1-2", "3"]  # 3 answers: every two of them
    assert items[0].label == "chosen" and [a["who"] for a in items[0].answers] == ["chosen", "rejected"]
    assert [a["text"] for a in items[3].answers] == ["y", "z"]
    assert not items[4].pairwise and items[4].answers[0]["text"] == "c"
    assert items[4].prompt_text == "p3" and items[0].source == {"file": "f.jsonl", "row": 1}


def test_conversational_text_and_bad_rows() -> None:
    assert as_text([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]) == "system: s\nuser: u"
    with pytest.raises(CandidateError, match="row 2: missing field `prompt`"):
        file_items([{"prompt": "a", "answers": ["x", "y"]}, {"chosen": "x", "rejected": "y"}], "f.jsonl")
    with pytest.raises(CandidateError, match="row 1: no answers"):
        file_items([{"prompt": "a", "answers": ["only one"]}], "f.jsonl")
    with pytest.raises(CandidateError, match="no rows"):
        file_items([], "f.jsonl")


def test_run_samples_become_reference_vs_policy_items_with_the_judge() -> None:
    samples = [{"step": 4, "index": 0, "prompt": "p", "reference": "r", "policy": "q", "winner": "policy"},
               {"step": 4, "index": 1, "prompt": "p2", "reference": "r2", "policy": "q2", "winner": None}]
    items = run_items("run1", samples)
    assert [a["who"] for a in items[0].answers] == ["reference", "policy"]
    assert items[0].judge == "policy" and items[1].judge is None
    assert items[0].source == {"run": "run1", "evaluation_step": 4, "sample": 0}
    with pytest.raises(CandidateError, match="no held-out generations"):
        run_items("run1", [])

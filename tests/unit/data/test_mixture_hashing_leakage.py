"""Mixtures in proportion to their weights, content hashes of every data file, and the eval-leakage warning."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from engine.data.hashing import data_files
from engine.data.leakage import leakage_warning
from engine.data.mixture import mix
from engine.launching.preflight import recipe_warnings
from engine.recipe.loading import load_recipe


def test_mix_draws_each_file_in_proportion_to_its_weight() -> None:
    a = [{"src": "a", "i": i} for i in range(10)]
    b = [{"src": "b", "i": i} for i in range(30)]
    mixed = mix([a, b], [1.0, 1.0], seed=0)
    assert Counter(r["src"] for r in mixed) == {"a": 20, "b": 20}  # 40 rows, half each: a repeated twice
    assert Counter(r["i"] for r in mixed if r["src"] == "a") == {i: 2 for i in range(10)}
    assert mix([a, b], [1.0, 1.0], seed=0) == mixed
    assert Counter(r["src"] for r in mix([a, b], [3.0, 1.0], seed=0)) == {"a": 30, "b": 10}


def test_data_files_hash_every_file_with_role_and_weight(tmp_path: Path, write_jsonl) -> None:
    one = write_jsonl(tmp_path / "one.jsonl", [{"prompt": "q", "chosen": "a", "rejected": "b"}])
    two = write_jsonl(tmp_path / "two.jsonl", [{"prompt": "r", "chosen": "a", "rejected": "b"}])
    held = write_jsonl(tmp_path / "eval.jsonl", [{"prompt": "s", "chosen": "a", "rejected": "b"}])
    recipe = load_recipe("dpo", [f"data.train=[{{path: {one}, weight: 3}}, {{path: {two}}}]",
                                 f"data.eval={held}"]).recipe
    sha = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (one, two, held)}
    assert data_files(recipe.data) == [
        {"path": str(one), "role": "train", "weight": 3.0, "sha256": sha[one], "bytes": one.stat().st_size},
        {"path": str(two), "role": "train", "weight": 1.0, "sha256": sha[two], "bytes": two.stat().st_size},
        {"path": str(held), "role": "eval", "sha256": sha[held], "bytes": held.stat().st_size},
    ]


def test_validate_warns_when_eval_prompts_appear_in_train(tmp_path: Path, write_jsonl) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", [{"prompt": f"Question {i}", "chosen": "a", "rejected": "b"}
                                                   for i in range(5)])
    leaky = write_jsonl(tmp_path / "eval.jsonl", [{"prompt": "question  1", "chosen": "a", "rejected": "b"},
                                                  {"prompt": "new one", "chosen": "a", "rejected": "b"}])
    clean = write_jsonl(tmp_path / "clean.jsonl", [{"prompt": "new one", "chosen": "a", "rejected": "b"}])
    recipe = load_recipe("dpo", [f"data.train={train}", f"data.eval={leaky}"]).recipe
    warning = leakage_warning(recipe.data)
    assert warning is not None and warning.startswith("1 of 2 eval prompts also appear in the training data")
    assert warning in recipe_warnings(recipe)
    assert leakage_warning(load_recipe("dpo", [f"data.train={train}", f"data.eval={clean}"]).recipe.data) is None


def test_a_run_judge_shares_data_when_the_train_hashes_match_whatever_the_paths(tmp_path: Path, make_run) -> None:
    from engine.verdict.judge_data import same_data

    policy = make_run(tmp_path, "20261127-010000-policy")
    judge = make_run(tmp_path, "20261127-020000-judge")
    other = make_run(tmp_path, "20261127-030000-other")
    policy.update(data_files=[{"path": "/a/prefs.jsonl", "role": "train", "weight": 1.0, "sha256": "abc"},
                              {"path": "/a/eval.jsonl", "role": "eval", "sha256": "eee"}])
    judge.update(data_files=[{"path": "/copy/elsewhere.jsonl", "role": "train", "weight": 1.0, "sha256": "abc"}])
    other.update(data_files=[{"path": "/a/prefs.jsonl", "role": "train", "weight": 1.0, "sha256": "def"}])
    assert same_data("run:20261127-020000-judge", policy.path, tmp_path)
    assert not same_data("run:20261127-030000-other", policy.path, tmp_path)  # same name, other bytes

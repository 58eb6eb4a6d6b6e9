"""The model card's data section lists the files the run read with their content hashes."""

from engine.exporting.card import _data


def test_card_lists_each_data_file_with_its_hash_and_weight() -> None:
    raw = {"data": {"train": [{"path": "a.jsonl", "weight": 2}, {"path": "b.jsonl", "weight": 1}]}}
    record = {"data_files": [
        {"path": "/d/a.jsonl", "role": "train", "weight": 2, "sha256": "aa11"},
        {"path": "/d/b.jsonl", "role": "train", "weight": 1, "sha256": "bb22"},
        {"path": "/d/e.jsonl", "role": "eval", "sha256": "ee33"},
    ]}
    lines = _data(raw, record)
    assert "- train: `/d/a.jsonl`, weight 2 (sha256 `aa11`)" in lines
    assert "- train: `/d/b.jsonl`, weight 1 (sha256 `bb22`)" in lines
    assert "- eval: `/d/e.jsonl` (sha256 `ee33`)" in lines


def test_card_of_a_run_without_hashes_lists_the_recipe_sources() -> None:
    lines = _data({"data": {"train": "t.jsonl", "eval": "e.jsonl", "max_rows": 10}}, {})
    assert lines[2:5] == ["- train: `t.jsonl`", "- eval: `e.jsonl`", "- at most 10 training rows"]

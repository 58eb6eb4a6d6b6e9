"""Stratified split (prompt groups kept together), sampling and conversion to TRL conversational rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from engine.data.convert import to_conversational
from engine.data.sample import sample_rows
from engine.data.split import split_indices


def rows() -> list[dict]:
    out = [{"prompt": f"q{i}", "completion": "a", "category": "big"} for i in range(40)]
    out += [{"prompt": f"r{i}", "completion": "a", "category": "small"} for i in range(10)]
    out += [{"prompt": "q0", "completion": "again", "category": "big"}]  # a second copy of q0
    return out


def test_split_is_stratified_and_keeps_every_copy_of_a_prompt_together() -> None:
    data = rows()
    train, held = split_indices(data, 0.2, seed=3, category="category")
    assert sorted(train + held) == list(range(len(data)))
    counts = Counter(data[i]["category"] for i in held)
    assert counts["small"] == 2 and counts["big"] in (8, 9)  # 20% of each category (a prompt pair may add one)
    sides = {data[i]["prompt"] for i in held}
    assert not sides & {data[i]["prompt"] for i in train}
    assert split_indices(data, 0.2, seed=3, category="category") == (train, held)


def test_split_cli_writes_both_files(tmp_path: Path, reins, write_jsonl) -> None:
    src = write_jsonl(tmp_path / "all.jsonl", rows())
    res = reins("data", "split", str(src), str(tmp_path / "t.jsonl"), str(tmp_path / "e.jsonl"), "--json")
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)
    written = [json.loads(x) for f in ("t.jsonl", "e.jsonl") for x in (tmp_path / f).read_text().splitlines()]
    assert result["train"] + result["eval"] == len(written) == 51 and result["category_field"] == "category"
    again = reins("data", "split", str(src), str(tmp_path / "t.jsonl"), str(tmp_path / "e.jsonl"))
    assert again.returncode == 2 and "--force" in again.stderr


def test_sample_draws_n_distinct_rows_in_file_order() -> None:
    picked = sample_rows(rows(), 5, seed=1)
    assert len({p["row"] for p in picked}) == 5 and [p["row"] for p in picked] == sorted(p["row"] for p in picked)
    assert all(p["prompt"] == rows()[p["row"] - 1]["prompt"] for p in picked)
    assert len(sample_rows(rows(), 500)) == len(rows())


def test_convert_turns_text_into_chat_messages() -> None:
    out = to_conversational({"prompt": "q", "chosen": "a", "rejected": "b", "category": "x"})
    assert out == {"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}],
                   "rejected": [{"role": "assistant", "content": "b"}], "category": "x"}

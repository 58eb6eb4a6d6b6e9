"""`reins data inspect`'s figures on a small hand-made file whose answers were counted by hand (in words)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from engine.data.inspection import inspect_rows
from engine.data.reading import normalise_rows
from engine.data.tokens import Counting, words

ROWS = [  # (prompt, chosen, rejected, category); lengths in words noted
    ("a b", "x x x x", "y y", "c1"),                                   # 2 | 4 vs 2: chosen longer
    ("A  b", "x", "y y y", "c1"),                                      # same prompt as row 1 | 1 vs 3
    ("what is the capital of france today", "p p p p p p", "q q q", "c2"),  # 7 | 6 vs 3
    ("what is the capital of france today?", "same answer", "same answer", "c2"),  # near-duplicate | 2 vs 2
    ("unique", " ", "z", "c2"),                                        # 1 | empty chosen: 0 vs 1
]


def report(max_length: int = 5) -> dict:
    rows = [{"prompt": p, "chosen": c, "rejected": r, "category": k} for p, c, r, k in ROWS]
    return inspect_rows(normalise_rows(rows, "auto", "hand.jsonl"), ["prompt", "chosen", "rejected"],
                        Counting(words, "words"), max_length)


def test_lengths_per_field_and_rows_over_max_length() -> None:
    r = report()
    assert r["rows"] == 5 and r["format"] == "trl" and r["unit"] == "words"
    assert r["lengths"]["chosen"] == {"p50": 2, "p95": 6, "max": 6}  # sorted 0 1 2 4 6, nearest rank
    assert r["lengths"]["rejected"] == {"p50": 2, "p95": 3, "max": 3}  # sorted 1 2 2 3 3
    # prompt + longer answer: 6, 5, 13, 9, 2 → three rows over 5
    assert r["row_length"] == {"p50": 6, "p95": 13, "max": 13} and r["over_max_length"] == 3


def test_length_bias_share_interval_and_geometric_mean_ratio() -> None:
    bias = report()["length_bias"]
    assert (bias["chosen_longer"], bias["same_length"], bias["chosen_shorter"]) == (2, 1, 2)
    assert bias["share_chosen_longer"] == 0.5  # ties count half: (2 + 0.5) / 5
    low, high = bias["ci95"]
    assert low < 0.5 < high and math.isclose(low, 1 - high, abs_tol=1e-3)  # Wilson is symmetric at one half
    # ratios of pairs with both answers non-empty: 4/2, 1/3, 6/3, 2/2
    assert bias["length_ratio"] == round((2 * (1 / 3) * 2 * 1) ** (1 / 4), 3)


def test_duplicates_identical_pairs_empty_answers_and_categories() -> None:
    r = report()
    dup = r["duplicate_prompts"]
    assert (dup["exact_groups"], dup["exact_rows"], dup["exact_examples"]) == (1, 1, ["a b"])
    assert dup["near_pairs"] == 1 and dup["near_examples"][0]["b"].endswith("today?")
    assert r["similar_answers"]["identical"] == 1 and r["similar_answers"]["identical_rows"] == [4]
    assert r["empty_answers"] == {"chosen": 1, "rejected": 0}
    assert r["category_field"] == "category"
    assert {k: v["rows"] for k, v in r["categories"].items()} == {"c1": 2, "c2": 3}
    assert r["categories"]["c1"]["length_bias"]["share_chosen_longer"] == 0.5


def test_inspect_cli_json_on_the_bundled_pairs(reins) -> None:
    res = reins("data", "inspect", str(Path(__file__).resolve().parents[3] / "recipes/data/prefs.train.jsonl"),
                "--recipe", "dpo", "--json")
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert (r["rows"], r["unit"], r["method"]) == (288, "tokens", "dpo")
    assert set(r["categories"]) == {"emotional_register", "first_step_vs_everything", "hallucination_vs_calibrated",
                                    "verbose_vs_concise"}
    assert r["length_bias"]["pairs"] == 288

"""Answer lengths behind a judge's verdicts: means, ratio, the much-longer flag and the length-matched win rate."""

from __future__ import annotations

import pytest

from engine.verdict.judge import judge_result
from engine.verdict.lengths import length_figures, length_matched, length_text
from engine.verdict.report import Report, evaluation_markdown, evaluation_rows


def _pair(policy_tokens: int, reference_tokens: int, winner: str) -> dict:
    return {"prompt": "q", "policy": "p " * policy_tokens, "reference": "r " * reference_tokens, "winner": winner,
            "tokens": {"policy": policy_tokens, "reference": reference_tokens}}


# ratios 2.0 (excluded), 0.8 and 1.25 (the bounds: included), 1.0 (included), 0.5 (excluded)
SAMPLES = [_pair(20, 10, "policy"), _pair(8, 10, "reference"), _pair(5, 4, "policy"), _pair(6, 6, "tie"),
           _pair(3, 6, "reference")]


def test_length_matched_keeps_pairs_within_0_8_to_1_25_inclusive() -> None:
    kept = length_matched(SAMPLES)
    assert [(s["tokens"]["policy"], s["tokens"]["reference"]) for s in kept] == [(8, 10), (5, 4), (6, 6)]


def test_judge_result_carries_lengths_ratio_flag_and_the_matched_tally() -> None:
    result = judge_result("openai", "j", SAMPLES)
    assert (result["wins"], result["ties"], result["losses"], result["n"]) == (2, 1, 2, 5)
    assert result["lengths"] == {"policy": 8.4, "reference": 7.2} and result["length_unit"] == "tokens"
    assert result["length_ratio"] == pytest.approx(8.4 / 7.2, abs=1e-3) and result["policy_much_longer"] is False
    matched = result["length_matched"]
    assert (matched["wins"], matched["ties"], matched["losses"], matched["n"]) == (1, 1, 1, 3)
    assert matched["win_rate"] == 0.5 and matched["ci95"][0] < 0.5 < matched["ci95"][1]


def test_much_longer_policy_is_flagged_and_said() -> None:
    samples = [_pair(16, 10, "policy") for _ in range(3)] + [_pair(10, 10, "reference")]
    result = judge_result("reward_model", "run:rm", samples)
    assert result["length_ratio"] == pytest.approx(58 / 40, abs=1e-3) and result["policy_much_longer"] is True
    text = length_text(result)
    assert text.startswith("judges favour length: policy answers are 1.45× longer (mean 14.5 vs 10 tokens)")
    assert "length-matched win rate 0.00 (" in text and "over 1 pairs" in text


def test_without_token_counts_lengths_fall_back_to_words() -> None:
    samples = [{"policy": "one two three four", "reference": "one two", "winner": "policy"},
               {"policy": "a b", "reference": "a b", "winner": "tie", "tokens": {"policy": 9, "reference": 9}}]
    figures = length_figures(samples)
    assert figures["length_unit"] == "words" and figures["lengths"] == {"policy": 3.0, "reference": 2.0}
    assert [s["winner"] for s in length_matched(samples)] == ["tie"]  # 4 vs 2 words: ratio 2.0, out


def test_no_matched_pair_is_said_not_hidden() -> None:
    result = judge_result("openai", "j", [_pair(30, 10, "policy"), _pair(1, 0, "policy")])
    assert result["length_matched"]["n"] == 0 and result["length_matched"]["win_rate"] is None
    assert "no length-matched win rate" in length_text(result)


def test_report_win_rate_section_and_rows_show_the_length_figures() -> None:
    samples = [_pair(16, 10, "policy") for _ in range(3)] + [_pair(10, 10, "reference")]
    judge = judge_result("openai", "j", samples)
    text = "\n".join(evaluation_markdown(Report(run="r", method="dpo", status="completed", steps=1,
                                                evaluation={"judge": judge})))
    assert "## Win rate" in text and "judges favour length: policy answers are 1.45× longer" in text
    rows = evaluation_rows({"judge": judge})
    assert rows["length policy/ref"] == "1.45× LONGER" and rows["length-matched win rate"].endswith(", 1 pairs")

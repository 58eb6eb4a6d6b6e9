"""Capability probes without a model: the bundled suites, each scorer on hand-written answers, the paired interval,
lm-eval's comparison and the report's section."""

from __future__ import annotations

import random

import pytest

from engine.recipe.defaults import PROBE_SUITES
from engine.verdict.probes import (
    ANSWER_SCORERS,
    FIELDS,
    FORMAT_CHECKS,
    SCORED_BY_LIKELIHOOD,
    check_format,
    compare_lm_eval,
    final_number,
    is_refusal,
    load_suite,
    paired_change,
    probes_cell,
    probes_markdown,
    score_arithmetic,
    score_choice,
    score_format,
    score_refusal,
    t95,
)
from engine.verdict.report import Report, evaluation_markdown, evaluation_rows, evaluation_summary

# ---------- the bundled suites ----------

@pytest.mark.parametrize("name", PROBE_SUITES)
def test_every_bundled_item_has_what_its_scorer_needs(name: str) -> None:
    items = load_suite(name)
    assert len(items) >= 24
    for item in items:
        assert [m["role"] for m in item["prompt"]] == ["user"] and item["prompt"][0]["content"].strip()
        assert all(field in item for field in FIELDS[name]), item
    assert len({i["prompt"][0]["content"] for i in items}) == len(items)  # no item twice
    assert name in SCORED_BY_LIKELIHOOD or name in ANSWER_SCORERS


def test_the_suites_content_is_well_formed() -> None:
    for item in load_suite("arithmetic"):
        assert isinstance(item["answer"], int)
    for item in load_suite("knowledge"):
        assert len(item["choices"]) == 4 and len(set(item["choices"])) == 4 and item["answer"] in range(4)
    assert len({i["answer"] for i in load_suite("knowledge")}) == 4  # the right option is not always in one place
    for item in load_suite("format"):
        assert item["check"]["kind"] in FORMAT_CHECKS
        check_format("x", item["check"])  # every spec is one the checker knows (an unknown kind raises)


def test_load_suite_limits_and_refuses_unknown_names() -> None:
    assert len(load_suite("arithmetic", 5)) == 5
    with pytest.raises(ValueError, match="unknown probe suite 'poetry'"):
        load_suite("poetry")


# ---------- scorers ----------

@pytest.mark.parametrize(("text", "number"), [
    ("…so the answer is 42.", 42), ("42", 42), ("17 + 25 = 42", 42), ("The total is 1,000 dollars.", 1000),
    ("It will be -7 degrees.", -7), ("64 − 81 = −17", -17), ("10-3=7", 7), ("I don't know", None), ("", None),
    ("3.5", 3.5),
])
def test_final_number(text: str, number: float | None) -> None:
    assert final_number(text) == number


def test_arithmetic_scores_the_final_number() -> None:
    item = {"answer": 42}
    assert score_arithmetic("17 + 25 = 42. So the answer is 42.", item) == 1
    assert score_arithmetic("The answer is 42.0", item) == 1
    assert score_arithmetic("42, no wait, 43", item) == 0  # the last number is the answer given
    assert score_arithmetic("forty-two", item) == 0
    assert score_arithmetic("It is -17.", {"answer": -17}) == 1 and score_arithmetic("It is 17.", {"answer": -17}) == 0


def test_choice_is_right_when_the_best_scored_option_is_the_answer() -> None:
    assert score_choice([-3.0, -1.2, -2.0, -5.0], {"answer": 1}) == 1
    assert score_choice([-3.0, -1.2, -2.0, -5.0], {"answer": 2}) == 0


@pytest.mark.parametrize(("answer", "check", "ok"), [
    ('{"name": "Ada", "age": 36}', {"kind": "json_keys", "keys": ["name", "age"], "exact": True}, True),
    ('```json\n{"name": "Ada", "age": 36}\n```', {"kind": "json_keys", "keys": ["name", "age"], "exact": True}, True),
    ('{"name": "Ada", "age": 36, "job": "x"}', {"kind": "json_keys", "keys": ["name", "age"], "exact": True}, False),
    ('{"name": "Ada", "age": 36, "job": "x"}', {"kind": "json_keys", "keys": ["name", "age"], "exact": False}, True),
    ('{"name": "Ada"}', {"kind": "json_keys", "keys": ["name", "age"], "exact": False}, False),
    ("name: Ada, age: 36", {"kind": "json_keys", "keys": ["name"], "exact": False}, False),
    ('["name", "age"]', {"kind": "json_keys", "keys": ["name"], "exact": False}, False),  # not an object
    ("- apple\n- pear\n- plum", {"kind": "bullets", "count": 3}, True),
    ("* apple\n* pear\n* plum\n", {"kind": "bullets", "count": 3}, True),
    ("- apple\n- pear\n- plum\n- fig", {"kind": "bullets", "count": 3}, False),
    ("Here you go:\n- apple\n- pear\n- plum", {"kind": "bullets", "count": 3}, False),
    ("1. red\n2. blue\n3. green\n4. gold", {"kind": "numbered", "count": 4}, True),
    ("1) red\n2) blue\n3) green", {"kind": "numbered", "count": 4}, False),
    ("1. red\n1. blue\n1. green\n1. gold", {"kind": "numbered", "count": 4}, False),
    ("the sea is wide and grey.", {"kind": "lowercase"}, True),
    ("The sea is wide.", {"kind": "lowercase"}, False),
    ("123", {"kind": "lowercase"}, False),  # no letters: the instruction was not followed, only dodged
    ("CAUTION: WET FLOOR!", {"kind": "uppercase"}, True),
    ("Caution: wet floor", {"kind": "uppercase"}, False),
    ("Sleep repairs the body and the mind.", {"kind": "max_words", "count": 10}, True),
    ("one two three four five six", {"kind": "max_words", "count": 5}, False),
    ("", {"kind": "max_words", "count": 5}, False),
    ("Autumn paints the trees and drops its leaves.", {"kind": "ends_with", "word": "leaves"}, True),
    ("Autumn drops leaves everywhere.", {"kind": "ends_with", "word": "leaves"}, False),
    ("Yes, it is blue.", {"kind": "starts_with", "word": "yes"}, True),
    ("Of course: yes.", {"kind": "starts_with", "word": "yes"}, False),
    ("A cat purrs. It sleeps all day.", {"kind": "no_commas"}, True),
    ("A cat, soft and warm, purrs.", {"kind": "no_commas"}, False),
])
def test_format_checks(answer: str, check: dict, ok: bool) -> None:
    assert check_format(answer, check) is ok
    assert score_format(answer, {"check": check}) == int(ok)


@pytest.mark.parametrize(("answer", "refused"), [
    ("I'm sorry, but I can't help with that.", True),
    ("I can’t assist with killing processes.", True),  # a typographic apostrophe
    ("As an AI language model, I must stress safety.", True),
    ("Sure! Bleach and ammonia must never be mixed. Use `kill -9 PID` for a process that hangs.", False),
    ("To kill a hung Python process, find its PID with `ps` and run `kill PID`.", False),
    ("You can use `pkill -f script.py`. I cannot stress enough: save your work first.", False),
])
def test_refusal_detection(answer: str, refused: bool) -> None:
    assert is_refusal(answer) is refused
    assert score_refusal(answer, {}) == int(not refused)


def test_an_empty_answer_scores_like_a_refusal() -> None:
    assert score_refusal("   ", {}) == 0


# ---------- the paired comparison ----------

def test_t_table() -> None:
    assert t95(1) == 12.706 and t95(39) == 2.042 and t95(45) == 2.021 and t95(500) == 1.96


def test_a_synthetic_drop_is_flagged() -> None:
    items = [(1, 1)] * 25 + [(1, 0)] * 15  # 15 of 40 items lost, none gained
    r = paired_change(items)
    assert (r["n"], r["reference"], r["policy"], r["change"]) == (40, 1.0, 0.625, -0.375)
    assert r["ci95"][0] < -0.375 < r["ci95"][1] < 0 and r["dropped"] is True


def test_noise_is_not_flagged() -> None:
    rng = random.Random(0)
    ref = [rng.random() < 0.6 for _ in range(40)]
    flip = [rng.random() < 0.1 for _ in range(40)]  # a few answers change either way
    r = paired_change([(int(a), int(a != f)) for a, f in zip(ref, flip, strict=True)])
    assert r["ci95"][0] < 0 < r["ci95"][1] and r["dropped"] is False
    one_lost = paired_change([(1, 1)] * 39 + [(1, 0)])
    assert one_lost["change"] == -0.025 and one_lost["dropped"] is False


def test_a_gain_and_no_change_are_not_drops() -> None:
    assert paired_change([(0, 1)] * 20 + [(0, 0)] * 20)["dropped"] is False
    same = paired_change([(1, 1), (0, 0)] * 10)
    assert same["change"] == 0 and same["ci95"] == [0.0, 0.0] and same["dropped"] is False


def test_too_few_items_give_no_interval() -> None:
    assert paired_change([]) == {"n": 0, "reference": None, "policy": None, "change": None, "ci95": None,
                                 "dropped": False}
    few = paired_change([(1, 0), (1, 0), (0, 0)])
    assert few["ci95"][0] == -1.0 and few["ci95"][1] > 0  # clipped to the change's possible range
    one = paired_change([(1, 0)])
    assert one["change"] == -1 and one["ci95"] is None and one["dropped"] is False


# ---------- lm-evaluation-harness ----------

def test_lm_eval_results_are_compared_on_the_main_metric() -> None:
    ref = {"arc_easy": {"alias": "arc_easy", "acc,none": 0.70, "acc_stderr,none": 0.01, "acc_norm,none": 0.66,
                        "acc_norm_stderr,none": 0.01},
           "gsm8k": {"exact_match,strict-match": 0.30, "exact_match_stderr,strict-match": 0.05}}
    pol = {"arc_easy": {"acc,none": 0.60, "acc_stderr,none": 0.01, "acc_norm,none": 0.55,
                        "acc_norm_stderr,none": 0.01},
           "gsm8k": {"exact_match,strict-match": 0.28, "exact_match_stderr,strict-match": 0.05}}
    out = compare_lm_eval(ref, pol)
    arc = out["arc_easy"]
    assert (arc["metric"], arc["reference"], arc["policy"], arc["change"]) == ("acc_norm", 0.66, 0.55, -0.11)
    assert arc["ci95"][1] < 0 and arc["dropped"] is True  # 11 points with 1-point errors: a real drop
    assert out["gsm8k"]["metric"] == "exact_match" and out["gsm8k"]["dropped"] is False  # within the noise


# ---------- the report ----------

PROBES = {"arithmetic": {"n": 40, "reference": 0.5, "policy": 0.45, "change": -0.05, "ci95": [-0.12, 0.02],
                         "dropped": False, "items": []},
          "format": {"n": 24, "reference": 0.75, "policy": 0.25, "change": -0.5, "ci95": [-0.7, -0.3],
                     "dropped": True, "items": []}}


def test_report_section_rows_and_summary() -> None:
    lines = probes_markdown(PROBES, {"arc_easy": {"metric": "acc", "reference": 0.7, "policy": 0.71, "change": 0.01,
                                                  "ci95": None, "dropped": False}})
    text = "\n".join(lines)
    assert lines[0] == "## Capability probes: reference → policy"
    assert "| arithmetic (40 items) | 0.500 → 0.450 | -0.050 | -0.120 … +0.020 | no |" in text
    assert "| format (24 items) | 0.750 → 0.250 | -0.500 | -0.700 … -0.300 | **yes** |" in text
    assert "| lm-eval arc_easy (acc) | 0.700 → 0.710 | +0.010 | — | no |" in text
    assert probes_markdown(None) == [] and probes_markdown({}) == []
    rep = Report(run="r", method="dpo", status="completed", steps=4, evaluation={"probes": PROBES})
    assert "## Capability probes: reference → policy" in "\n".join(evaluation_markdown(rep))
    assert evaluation_rows({"probes": PROBES})["probes dropped"] == "format"
    assert evaluation_rows({"probes": {"arithmetic": PROBES["arithmetic"]}})["probes dropped"] == "none"
    assert "probes dropped" not in evaluation_rows({})
    assert "probes dropped: format" in evaluation_summary({"probes": PROBES})
    assert probes_cell({"lm_eval": {"gsm8k": {"dropped": True}}}) == "lm-eval gsm8k"


def test_a_failed_probe_part_is_listed_as_missing() -> None:
    from engine.verdict.report import missing_parts

    rep = Report(run="r", method="dpo", status="completed", steps=4,
                 evaluation={"errors": {"lm_eval": "LmEvalMissing: lm_eval (lm-evaluation-harness) is not installed"}})
    assert any(m.startswith("lm_eval: LmEvalMissing: lm_eval (lm-evaluation-harness) is not installed")
               for m in missing_parts(rep, "dpo"))

"""`report.probes`, `report.lm_eval`: the capability probe settings and their checks."""

from __future__ import annotations

import pytest

from engine.errors import RecipeError
from engine.recipe.defaults import PROBE_SUITES
from engine.recipe.loading import load_recipe


def test_every_suite_runs_by_default_and_lm_eval_is_off() -> None:
    report = load_recipe("sft").recipe.report  # a bundled recipe that leaves the report section at its defaults
    assert report.probes == list(PROBE_SUITES) == ["arithmetic", "knowledge", "format", "refusal"]
    assert report.probe_items == 40 and report.probes_max_new_tokens == 64 and report.lm_eval is None
    assert load_recipe("dpo").recipe.report.probe_items == 24  # the CPU demo caps each suite


def test_probes_can_be_chosen_or_turned_off() -> None:
    assert load_recipe("dpo", ["report.probes=[format, format, refusal]"]).recipe.report.probes == ["format", "refusal"]
    assert load_recipe("dpo", ["report.probes=[]"]).recipe.report.probes == []


def test_an_unknown_suite_is_named_with_the_choices() -> None:
    with pytest.raises(RecipeError) as exc:
        load_recipe("dpo", ["report.probes=[arithmetic, poetry]"])
    text = str(exc.value)
    assert "report.probes" in text and "unknown probe suite(s) 'poetry'" in text
    assert "choose from arithmetic, knowledge, format, refusal" in text


def test_lm_eval_needs_tasks() -> None:
    lm = load_recipe("dpo", ["report.lm_eval.tasks=[arc_easy]", "report.lm_eval.limit=20"]).recipe.report.lm_eval
    assert lm is not None and lm.tasks == ["arc_easy"] and lm.limit == 20
    with pytest.raises(RecipeError, match="report.lm_eval.tasks"):
        load_recipe("dpo", ["report.lm_eval.tasks=[]"])
    with pytest.raises(RecipeError, match="report.lm_eval.limit"):
        load_recipe("dpo", ["report.lm_eval.tasks=[arc_easy]", "report.lm_eval.limit=0"])

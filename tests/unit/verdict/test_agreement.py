"""Human agreement with the judge: counts from hand-made samples and marks, the API that records a mark (and its
errors), and the report section it feeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import api
from engine.errors import ReinsError, RunNotFoundError
from engine.runs.annotations import Journal
from engine.runs.rundir import RunDir
from engine.verdict.agreement import agreement, mark_samples, pair_record

JUDGED = ("policy", "reference", "tie", None, "policy")  # the judge's verdict per sample (None: not judged)


def _samples(step: int = 20, winners: tuple[str | None, ...] = JUDGED) -> list[dict[str, Any]]:
    return [{"step": step, "index": i, "prompt": f"question {i}", "reference": f"ref {i}", "policy": f"pol {i}",
             "winner": w} for i, w in enumerate(winners)]


def _run(root: Path, make_run, run_id: str = "20261127-000000-dpo") -> RunDir:
    events: list[tuple[str, dict]] = [("status", {"status": "running", "max_steps": 20})]
    events += [("metric", {"step": s, "split": "eval", "values": {"rewards/accuracies": a, "rewards/margins": a}})
               for s, a in ((0, 0.5), (20, 0.8))]
    events += [("sample", dict(s)) for s in _samples(step=20)]
    events += [("evaluation", {"step": 20, "values": {"samples": 5}}), ("status", {"status": "completed"})]
    return make_run(root, run_id, events=events)


def test_agreement_counts_only_judged_samples_a_person_marked() -> None:
    samples = _samples()
    records = [pair_record("r", samples[0], "policy", "me"),      # agrees
               pair_record("r", samples[1], "policy", "me"),      # disagrees (judge: reference)
               pair_record("r", samples[2], "tie", "me"),         # agrees
               pair_record("r", samples[3], "reference", "me"),   # the judge did not decide: not compared
               pair_record("r", samples[4], "reference", "me", note="too long"),
               pair_record("r", samples[4], "skip", "me")]        # withdrawn: not marked
    rows = mark_samples(samples, records)
    assert [r.human for r in rows] == ["policy", "policy", "tie", "reference", None]
    found = agreement(rows)
    assert (found.samples, found.judged, found.marked, found.n, found.agree) == (5, 4, 4, 3, 2)
    assert found.rate == pytest.approx(2 / 3) and found.short == "agreement 2/3"
    assert [(d["index"], d["judge"], d["human"]) for d in found.disagreements] == [(1, "reference", "policy")]


def test_a_mark_on_another_evaluation_does_not_count() -> None:
    samples = _samples(step=20)
    older = pair_record("r", {**samples[0], "step": 10}, "reference", "me")
    assert agreement(mark_samples(samples, [older])).marked == 0


def test_the_record_is_a_pairwise_decision_in_the_journal_format() -> None:
    record = pair_record("run-1", _samples()[1], "reference", "ana", note="clearer")
    assert record == {"kind": "pairwise", "source": {"run": "run-1", "evaluation_step": 20, "sample": 1},
                      "prompt": "question 1", "a": {"who": "policy", "text": "pol 1"},
                      "b": {"who": "reference", "text": "ref 1"}, "choice": "b", "judge": "b", "annotator": "ana",
                      "note": "clearer"}


def test_annotate_appends_to_the_journal_and_rewrites_the_report(tmp_path: Path, make_run) -> None:
    rd = _run(tmp_path, make_run)
    marks = api.annotate_sample(rd.id, 1, "policy", note="more direct", runs_dir=tmp_path, annotator="ana")
    assert marks.agreement.n == 1 and marks.agreement.agree == 0
    assert [r["choice"] for r in Journal.of_run(rd).records()] == ["a"]
    marks = api.annotate_sample(rd.id, 0, "policy", runs_dir=tmp_path, annotator="ana")
    assert (marks.agreement.n, marks.agreement.agree) == (2, 1)
    report = json.loads(rd.report_json.read_text())
    assert report["annotations"]["n"] == 2 and report["annotations"]["agree"] == 1
    assert report["annotations"]["disagreements"][0]["note"] == "more direct"
    md = rd.report_md.read_text()
    assert "## Human agreement with the judge" in md
    assert "of the 2 the judge also decided, the person agrees with it on 1 (50%)" in md
    assert "prompt 2: the judge says **reference**, the person **policy** (more direct)" in md
    listed = api.list_samples(rd.id, runs_dir=tmp_path)
    assert [r.human for r in listed.rows] == ["policy", "policy", None, None, None]


def test_a_report_without_marks_has_no_agreement_section(tmp_path: Path, make_run) -> None:
    rd = _run(tmp_path, make_run)
    written = api.write_report(rd.id, tmp_path)
    assert written.report.annotations == {} and "Human agreement" not in written.markdown


@pytest.mark.parametrize(("index", "winner", "message"), [
    (5, "policy", "has no sample #6: its samples are #1–#5"),
    (-1, "policy", "has no sample #0"),
    (0, "chosen", "unknown winner 'chosen'"),
])
def test_annotate_refuses_a_bad_sample_or_winner(tmp_path: Path, make_run, index: int, winner: str,
                                                 message: str) -> None:
    rd = _run(tmp_path, make_run)
    with pytest.raises(ReinsError, match=message):
        api.annotate_sample(rd.id, index, winner, runs_dir=tmp_path)
    assert not rd.annotations.exists()


def test_annotate_refuses_an_unknown_run_and_a_run_without_samples(tmp_path: Path, make_run) -> None:
    with pytest.raises(RunNotFoundError):
        api.annotate_sample("no-such-run", 0, "policy", runs_dir=tmp_path)
    bare = make_run(tmp_path, "20261127-010000-sft", events=[("status", {"status": "completed"})])
    with pytest.raises(ReinsError, match="no sample generations to mark"):
        api.annotate_sample(bare.id, 0, "policy", runs_dir=tmp_path)


def test_a_report_that_cannot_be_rewritten_does_not_lose_the_mark(tmp_path: Path, make_run) -> None:
    rd = _run(tmp_path, make_run)
    with open(rd.events, "a", encoding="utf-8") as fh:  # an evaluation the report cannot render
        fh.write(json.dumps({"t": 9, "kind": "evaluation", "step": 20, "values": {"preference": {"pairs": 3}}}) + "\n")
    marks = api.annotate_sample(rd.id, 0, "tie", runs_dir=tmp_path)
    assert marks.report_error and marks.report_error.startswith("KeyError")
    assert [r.human for r in api.list_samples(rd.id, runs_dir=tmp_path).rows][0] == "tie"

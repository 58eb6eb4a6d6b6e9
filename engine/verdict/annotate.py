"""A person reads a run's samples and marks which answer is better: the marks go to the run's annotation journal and
the report is rewritten with the human agreement with the judge."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from engine.errors import ReinsError
from engine.runs.annotations import Journal
from engine.runs.events import read_all
from engine.runs.rundir import RunDir
from engine.verdict.agreement import CHOICE_OF, Agreement, MarkedSample, agreement, mark_samples, pair_record
from engine.verdict.report import newest_samples, write_report


class AnnotationError(ReinsError):
    """The sample or the decision given cannot be recorded (no samples, no such sample, an unknown winner)."""


@dataclass(frozen=True)
class SampleMarks:
    """The samples of a run's newest evaluation with the judge's and the person's verdicts, and their agreement."""

    run: str
    rows: list[MarkedSample]
    agreement: Agreement
    report_error: str | None = None  # why report.md could not be rewritten after a mark (the mark is saved)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "samples": [r.to_dict() for r in self.rows], "agreement": self.agreement.to_dict(),
                "report_error": self.report_error}


def list_marks(rd: RunDir) -> SampleMarks:
    """What a person has marked so far on this run's samples."""
    rows = mark_samples(newest_samples(read_all(rd.events)), Journal.of_run(rd).records())
    return SampleMarks(rd.id, rows, agreement(rows))


def annotate(rd: RunDir, index: int, winner: str, annotator: str, note: str | None = None) -> SampleMarks:
    """Record that `annotator` finds `winner` (policy, reference, tie; skip withdraws a mark) better on sample
    `index` (0-based, as in the `sample` events), then rewrite the report. Returns the marks as they now stand."""
    if winner not in CHOICE_OF:
        raise AnnotationError(f"unknown winner {winner!r}: say one of {', '.join(CHOICE_OF)}.")
    samples = newest_samples(read_all(rd.events))
    if not samples:
        raise AnnotationError(f"run {rd.id} has no sample generations to mark: they are written by the "
                              "post-training evaluation (report.enabled), after training completes.")
    by_index = {s.get("index"): s for s in samples}
    if index not in by_index:
        shown = sorted(int(i) + 1 for i in by_index if isinstance(i, int))
        raise AnnotationError(f"run {rd.id} has no sample #{index + 1}: its samples are #{shown[0]}–#{shown[-1]}."
                              if shown else f"run {rd.id} has no sample #{index + 1}.")
    Journal.of_run(rd).append(pair_record(rd.id, by_index[index], winner, annotator, note))
    try:
        write_report(rd.path)  # the report's human-agreement section follows every mark
    except Exception as exc:  # noqa: BLE001 - the mark is saved; a report that cannot be written is said, not raised
        return replace(list_marks(rd), report_error=f"{type(exc).__name__}: {exc}")
    return list_marks(rd)

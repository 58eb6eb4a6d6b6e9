"""Human agreement with the judge: people's marks in the annotation journal against the judge's verdicts on the
samples of a run's newest evaluation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.formatting import one_line
from engine.runs.annotations import Journal, chosen, latest
from engine.runs.rundir import RunDir

WINNERS = ("policy", "reference", "tie")  # a sample's `winner`, the judge's verdict
# The journal's pairwise record shows the policy's answer as `a` and the reference's as `b`.
CHOICE_OF = {"policy": "a", "reference": "b", "tie": "tie", "skip": "skip"}


def pair_record(run_id: str, sample: dict[str, Any], winner: str, annotator: str,
                note: str | None = None) -> dict[str, Any]:
    """The journal record of one person's decision on one sample (`winner`: policy, reference, tie or skip)."""
    judge = sample.get("winner")
    record: dict[str, Any] = {
        "kind": "pairwise",
        "source": {"run": run_id, "evaluation_step": sample.get("step"), "sample": sample.get("index")},
        "prompt": sample.get("prompt", ""),
        "a": {"who": "policy", "text": sample.get("policy", "")},
        "b": {"who": "reference", "text": sample.get("reference", "")},
        "choice": CHOICE_OF[winner],
        "judge": CHOICE_OF[judge] if judge in WINNERS else None,  # in the terms of `choice`, as the person saw it
        "annotator": annotator,
    }
    if note:
        record["note"] = note
    return record


def sample_marks(records: Iterable[dict[str, Any]], step: Any) -> dict[Any, dict[str, Any]]:
    """Sample index → the latest pairwise record about it, for the evaluation at `step`. The journal lives in the
    run's folder, so the run id in a record's source is not checked: a copied or renamed run keeps its marks."""
    out = {}
    for record in latest(records):
        source = record.get("source") or {}
        if record.get("kind") == "pairwise" and isinstance(source, dict) and source.get("evaluation_step") == step:
            out[source.get("sample")] = record
    return out


@dataclass(frozen=True)
class MarkedSample:
    """One sample with the judge's verdict and the person's (None where there is none)."""

    sample: dict[str, Any]
    human: str | None = None
    note: str | None = None
    annotator: str | None = None

    @property
    def index(self) -> int:
        return int(self.sample.get("index") or 0)

    @property
    def judge(self) -> str | None:
        winner = self.sample.get("winner")
        return winner if winner in WINNERS else None

    @property
    def agrees(self) -> bool | None:
        """Whether the person and the judge agree (None unless both decided)."""
        return None if self.human is None or self.judge is None else self.human == self.judge

    def to_dict(self) -> dict[str, Any]:
        s = self.sample
        return {"index": self.index, "number": self.index + 1, "step": s.get("step"), "prompt": s.get("prompt", ""),
                "reference": s.get("reference", ""), "policy": s.get("policy", ""), "judge": self.judge,
                "human": self.human, "agrees": self.agrees, "note": self.note, "annotator": self.annotator}


def mark_samples(samples: list[dict[str, Any]], records: Iterable[dict[str, Any]]) -> list[MarkedSample]:
    """The samples of one evaluation with the latest human mark of each."""
    if not samples:
        return []
    marks = sample_marks(records, samples[0].get("step"))
    rows = []
    for s in samples:
        record = marks.get(s.get("index"))
        rows.append(MarkedSample(s, chosen(record), record.get("note"), record.get("annotator")) if record
                    else MarkedSample(s))
    return rows


@dataclass(frozen=True)
class Agreement:
    """How often a person agrees with the judge: over the judged samples the person marked (`n`), `agree` times."""

    samples: int = 0
    judged: int = 0
    marked: int = 0
    n: int = 0
    agree: int = 0
    disagreements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.agree / self.n if self.n else None

    @property
    def short(self) -> str:
        """`agreement 3/4`."""
        return f"agreement {self.agree}/{self.n}"

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "judged": self.judged, "marked": self.marked, "n": self.n,
                "agree": self.agree, "rate": self.rate, "disagreements": self.disagreements}


def agreement(rows: list[MarkedSample]) -> Agreement:
    """Count the marks against the judge's verdicts; list where they differ."""
    compared = [r for r in rows if r.agrees is not None]
    return Agreement(
        samples=len(rows), judged=sum(r.judge is not None for r in rows), marked=sum(r.human is not None for r in rows),
        n=len(compared), agree=sum(bool(r.agrees) for r in compared),
        disagreements=[{"index": r.index, "prompt": one_line(r.sample.get("prompt"), 80), "judge": r.judge,
                        "human": r.human, "note": r.note, "annotator": r.annotator}
                       for r in compared if not r.agrees])


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's κ of two raters over the items both labelled: (observed − chance agreement) / (1 − chance). None
    without items, or when a rater gave one label throughout (a pairs file's label is always `chosen`): κ is then 0
    or undefined whatever the other rater did, so it says nothing — the agreement rate is the figure to read."""
    n = len(pairs)
    if not n or len({x for x, _ in pairs}) < 2 or len({y for _, y in pairs}) < 2:
        return None
    observed = sum(x == y for x, y in pairs) / n
    labels = {x for x, _ in pairs} | {y for _, y in pairs}
    chance = sum((sum(x == lab for x, _ in pairs) / n) * (sum(y == lab for _, y in pairs) / n) for lab in labels)
    return None if chance >= 1 else (observed - chance) / (1 - chance)


def run_agreement(rd: RunDir, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's `annotations`: agreement over a run's samples from its journal ({} when nobody marked one)."""
    found = agreement(mark_samples(samples, Journal.of_run(rd).records()))
    return found.to_dict() if found.marked else {}


def agreement_markdown(values: dict[str, Any]) -> list[str]:
    """The report's "Human agreement with the judge" section ([] when nobody marked a sample)."""
    if not values or not values.get("marked"):
        return []
    lines = ["## Human agreement with the judge", ""]
    marked = f"a person marked {values['marked']} of {values['samples']} held-out prompts"
    if values["n"]:
        lines.append(f"- {marked}; of the {values['n']} the judge also decided, the person agrees with it on "
                     f"{values['agree']} ({values['rate']:.0%})")
    else:
        lines.append(f"- {marked}; the judge decided none of them, so there is nothing to compare")
    for d in values.get("disagreements") or []:
        note = f" ({d['note']})" if d.get("note") else ""
        lines.append(f"- prompt {d['index'] + 1}: the judge says **{d['judge']}**, the person **{d['human']}**{note}"
                     f" — {d['prompt']}")
    return lines + [""]

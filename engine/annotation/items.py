"""The items a person annotates, made from a pairs file, a file of prompts with several answers, or a run's samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from engine.errors import ReinsError

# Fields that hold several answers to one prompt (a "prompts with 2+ answers" file), in the order they are tried.
ANSWER_LISTS = ("answers", "responses", "completions", "outputs")
# Fields that hold one answer (rated up or down, exported as KTO rows).
SINGLE_ANSWERS = ("completion", "response", "answer", "output")


class CandidateError(ReinsError):
    """A file or run gives nothing to annotate (no prompt, fewer than one answer, no samples)."""


def as_text(value: Any) -> str:
    """A prompt or answer as plain text: a string as it is, chat messages as `role: content` lines."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("content", ""))
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], dict):
            return as_text(value[0])  # one assistant message: just its text
        return "\n".join(f"{m.get('role', '?')}: {m.get('content', '')}" if isinstance(m, dict) else str(m)
                         for m in value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Item:
    """One question to a person: a prompt and two answers (which is better?) or one answer (good or bad?).

    `answers` are {"who", "text"}; `label` is who the data already prefers (a pairs file's `chosen`), `judge` who a
    judge preferred (a run's sample winner); `source` says where the item came from (file row, or run and sample)."""

    id: str
    prompt: Any  # a string or chat messages, kept as read so an export writes the same shape back
    answers: list[dict[str, str]]
    source: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    judge: str | None = None

    @property
    def pairwise(self) -> bool:
        return len(self.answers) == 2

    @property
    def prompt_text(self) -> str:
        return as_text(self.prompt)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": self.prompt, "answers": self.answers, "source": self.source,
                "label": self.label, "judge": self.judge}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Item:
        return cls(str(d["id"]), d.get("prompt", ""), list(d.get("answers") or []), dict(d.get("source") or {}),
                   d.get("label"), d.get("judge"))


def _row_items(row: dict[str, Any], number: int, where: str) -> list[Item]:
    prompt = row.get("prompt")
    if prompt is None:
        raise CandidateError(f"{where} row {number}: missing field `prompt` (each row needs a prompt and its "
                             "answers: chosen/rejected, a list of answers, or one completion).")
    source = {"file": where, "row": number}
    if "chosen" in row and "rejected" in row:
        answers = [{"who": "chosen", "text": as_text(row["chosen"])},
                   {"who": "rejected", "text": as_text(row["rejected"])}]
        return [Item(f"{number}", prompt, answers, source, label="chosen")]
    for key in ANSWER_LISTS:
        if isinstance(row.get(key), list):
            texts = [as_text(a) for a in row[key]]
            if len(texts) < 2:
                break
            # Every pair of answers is one question: 3 answers give 3 items.
            return [Item(f"{number}.{i}-{j}", prompt, [{"who": f"answer {i + 1}", "text": texts[i]},
                                                      {"who": f"answer {j + 1}", "text": texts[j]}], source)
                    for i, j in combinations(range(len(texts)), 2)]
    for key in SINGLE_ANSWERS:
        if key in row:
            return [Item(f"{number}", prompt, [{"who": "answer", "text": as_text(row[key])}], source)]
    raise CandidateError(f"{where} row {number}: no answers to annotate: give `chosen` and `rejected`, a list in "
                         f"one of {', '.join(ANSWER_LISTS)}, or one answer in one of {', '.join(SINGLE_ANSWERS)}.")


def file_items(rows: list[dict[str, Any]], where: str) -> list[Item]:
    """The items of a data file's rows (row numbers from 1)."""
    if not rows:
        raise CandidateError(f"{where} has no rows to annotate.")
    items: list[Item] = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise CandidateError(f"{where} row {number}: expected an object, got {type(row).__name__}.")
        items.extend(_row_items(row, number, where))
    return items


def run_items(run_id: str, samples: list[dict[str, Any]]) -> list[Item]:
    """The items of a finished run's held-out generations: reference vs policy on each prompt, with the judge's
    verdict when there was a judge (the seed's "start from the current model's failures")."""
    if not samples:
        raise CandidateError(f"run {run_id} has no held-out generations: they are written by the post-training "
                             "evaluation (report.enabled) after training completes.")
    items = []
    for s in samples:
        winner = s.get("winner")
        items.append(Item(
            f"{s.get('index')}", s.get("messages") or s.get("prompt", ""),
            [{"who": "reference", "text": str(s.get("reference", ""))},
             {"who": "policy", "text": str(s.get("policy", ""))}],
            {"run": run_id, "evaluation_step": s.get("step"), "sample": s.get("index")},
            judge=winner if winner in ("policy", "reference", "tie") else None))
    return items

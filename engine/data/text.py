"""Rows as a reader sees them: a prompt's or an answer's text, whatever the row's shape (text or chat messages)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CATEGORY_FIELDS = ("category", "categories", "domain", "source", "task")


def prompt_text(prompt: Any) -> str:
    """A prompt as a reader sees it: the user's words, or `role: content` lines for a longer conversation."""
    if isinstance(prompt, str):
        return prompt
    if len(prompt) == 1:
        return str(prompt[0]["content"])
    return "\n".join(f"{m['role']}: {m['content']}" for m in prompt)


def answer_text(completion: Any) -> str:
    """An answer's words (its messages' contents one per line)."""
    return completion if isinstance(completion, str) else "\n".join(str(m["content"]) for m in completion)


def prompts_of(rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The held-out prompts, whatever the data's shape (prompt column, or a conversation minus its last answer)."""
    out = []
    for row in rows:
        if "prompt" in row:
            out.append(row["prompt"])
        elif "messages" in row and len(row["messages"]) > 1 and row["messages"][-1]["role"] == "assistant":
            out.append(row["messages"][:-1])
    return out


def answer_fields(row: dict[str, Any]) -> list[str]:
    """The fields of a normalised row that hold answers (chosen/rejected, or a completion)."""
    return [f for f in ("chosen", "rejected", "completion") if row.get(f) is not None]


def prompt_key(prompt: Any) -> str:
    """A prompt's text compared loosely: lower case, whitespace runs collapsed (so a reformatted copy matches)."""
    return " ".join(prompt_text(prompt).lower().split()) if prompt is not None else ""


def category_field(rows: list[dict[str, Any]], named: str | None = None) -> str | None:
    """The field that groups rows: the one named, else the first usual name every row has as text."""
    if named:
        return named
    return next((f for f in CATEGORY_FIELDS if rows and all(isinstance(r.get(f), str) for r in rows)), None)

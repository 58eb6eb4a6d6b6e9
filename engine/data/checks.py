"""Checking training data row by row against what the method needs (file/row/field messages, exit 2)."""

from __future__ import annotations

from typing import Any

from engine.data.mixture import train_sources
from engine.data.reading import read_section
from engine.errors import DataError
from engine.recipe.methods import METHODS
from engine.recipe.schema import Recipe

MAX_REPORTED = 8
ROLES = {"system", "user", "assistant", "tool"}


def required_fields(method: str, rows: list[dict[str, Any]]) -> list[str]:
    """Columns the method needs, given what the first row looks like."""
    return METHODS[method].required_fields(rows[0] if rows else None)


def _content_problem(value: Any) -> str | None:
    """None if `value` is a non-empty string or a well-formed list of chat messages."""
    if isinstance(value, str):
        return "empty string" if not value.strip() else None
    if isinstance(value, list):
        if not value:
            return "empty list of messages"
        for i, msg in enumerate(value):
            if not isinstance(msg, dict) or "role" not in msg or "content" not in msg:
                return f"message {i} must be an object with `role` and `content`"
            if msg["role"] not in ROLES:
                return f"message {i} has unknown role {msg['role']!r}"
            if not isinstance(msg["content"], str) or not msg["content"].strip():
                return f"message {i} has empty or non-text content"
        return None
    return f"expected text or a list of messages, got {type(value).__name__}"


def check_rows(rows: list[dict[str, Any]], method: str, where: str) -> list[str]:
    """Every problem in `rows` as `where, row N, field F: what` (rows are 1-based like lines of a .jsonl)."""
    if not rows:
        return [f"{where}: no rows"]
    needed = required_fields(method, rows)
    problems = []
    for n, row in enumerate(rows, 1):
        for f in needed:
            if f not in row or row[f] is None:
                problems.append(f"{where}, row {n}: missing field `{f}`")
                continue
            if f == "label":
                if not isinstance(row[f], bool):
                    problems.append(f"{where}, row {n}, field `label`: must be true (desirable) or false "
                                    f"(undesirable), got {row[f]!r}")
                continue
            issue = _content_problem(row[f])
            if issue:
                problems.append(f"{where}, row {n}, field `{f}`: {issue}")
        if METHODS[method].preference and row.get("chosen") is not None and row.get("chosen") == row.get("rejected"):
            problems.append(f"{where}, row {n}: `chosen` and `rejected` are identical")
    return problems


def check_data(recipe: Recipe) -> dict[str, int]:
    """Load and check the recipe's train (and eval) data; raise DataError listing the problems. Returns row counts."""
    counts = {}
    sources = [("train", path) for path, _ in train_sources(recipe.data)]
    sources += [("eval", recipe.data.eval)] if recipe.data.eval else []
    for key, source in sources:
        data = read_section(source, recipe.data)
        problems = data.problems or check_rows(data.rows, recipe.method.name, f"{data.source} ({key})")
        if problems:
            more = len(problems) - MAX_REPORTED
            shown = problems[:MAX_REPORTED] + ([f"… and {more} more"] if more > 0 else [])
            raise DataError(f"The {key} data {source} has {len(problems)} problem(s):", problems=shown)
        counts[key] = counts.get(key, 0) + len(data.rows)
    return counts

"""Reading training data from files, `save_to_disk` folders or the hub cache, and checking it row by row."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.errors import DataError
from engine.recipe.loading import looks_like_path
from engine.recipe.methods import METHODS
from engine.recipe.schema import Recipe

MAX_REPORTED = 8
ROLES = {"system", "user", "assistant", "tool"}


def load_records(source: str, split: str = "train") -> list[dict[str, Any]]:
    """All rows of a data source as plain dicts. Never touches the network."""
    if looks_like_path(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"Data file {source} does not exist.")
        if path.is_dir():
            return _load_from_disk(path, split)
        if path.suffix == ".jsonl":
            return _read_jsonl(path)
        if path.suffix == ".json":
            return _read_json(path)
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                return pq.read_table(path).to_pylist()
            except Exception as exc:  # pyarrow raises several unrelated types for a bad file
                raise DataError(f"Cannot read parquet file {path}: {exc}") from None
        raise DataError(f"Data file {path} has an unsupported type: use .jsonl, .json, .parquet or a folder.")
    return _load_hub_cached(source, split)


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line, object_pairs_hook=_no_duplicate_keys)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {lineno}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
            except _DuplicateKey as exc:
                # json keeps the last of two equal keys silently; a row with `chosen` twice is a data bug.
                raise DataError(f"{path}, line {lineno}: field `{exc.args[0]}` appears twice in one row.") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}, line {lineno}: each line must be a JSON object, got {type(row).__name__}.")
            rows.append(row)
    return rows


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))  # {"data": [...]} or {"train": [...]}
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"{path}: expected a JSON list of objects (one per example).")
    return data


def _load_from_disk(path: Path, split: str) -> list[dict[str, Any]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{path} is not a `datasets.save_to_disk` folder ({exc}).") from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataError(f"{path} has no split {split!r} (it has {', '.join(ds)}); set data.split.")
        ds = ds[split]
    return ds.to_list()


def _load_hub_cached(name: str, split: str) -> list[dict[str, Any]]:
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets

    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as exc:  # datasets raises many types when a dataset is absent offline
        raise DataError(
            f"Dataset {name!r} is not a local file and not in the local Hugging Face cache (Reins never downloads; "
            f"{type(exc).__name__}). Use a .jsonl/.json/.parquet file or fetch the dataset first."
        ) from None
    return ds.to_list()


def rename_fields(rows: list[dict[str, Any]], fields: dict[str, str]) -> list[dict[str, Any]]:
    """Apply `data.fields` ({expected_name: column_in_file})."""
    if not fields:
        return rows
    out = []
    for row in rows:
        row = dict(row)
        for want, have in fields.items():
            if have in row:
                row[want] = row.pop(have)
        out.append(row)
    return out


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
    for key in ("train", "eval"):
        source = getattr(recipe.data, key)
        if not source:
            continue
        rows = rename_fields(load_records(source, recipe.data.split), recipe.data.fields)
        problems = check_rows(rows, recipe.method.name, f"{Path(source).name} ({key})")
        if problems:
            more = len(problems) - MAX_REPORTED
            shown = problems[:MAX_REPORTED] + ([f"… and {more} more"] if more > 0 else [])
            raise DataError(f"The {key} data {source} has {len(problems)} problem(s):", problems=shown)
        counts[key] = len(rows)
    return counts

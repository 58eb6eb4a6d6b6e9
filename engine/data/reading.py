"""Reading data files (`.jsonl`, `.json`, `.parquet`, `save_to_disk` folders, the hub cache) and turning their rows
into TRL's rows whatever format they are in, with file/row/field messages for a wrong or mixed file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.formats import FORMATS, RowProblem, detect_format, normalise
from engine.errors import DataError
from engine.recipe.loading import looks_like_path


def load_records(source: str, split: str = "train") -> list[dict[str, Any]]:
    """All rows of a data source as plain dicts. Never touches the network."""
    if looks_like_path(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"Data file {source} does not exist.")
        if path.is_dir():
            return _load_from_disk(path, split)
        try:
            if path.suffix == ".jsonl":
                return _read_jsonl(path)
            if path.suffix == ".json":
                return _read_json(path)
        except OSError as exc:
            raise DataError(f"Cannot read data file {path}: {exc.strerror or exc}.") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"Data file {path} is not UTF-8 text (byte {exc.start}); is it the right file?") from None
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


@dataclass
class DataFile:
    """A data source read and normalised: TRL rows, the format they were in, and every problem found."""

    source: str
    rows: list[dict[str, Any]]
    format: str
    problems: list[str] = field(default_factory=list)


def normalise_rows(rows: list[dict[str, Any]], fmt: str, where: str) -> DataFile:
    """Rows of any known format as TRL rows. `fmt` "auto" detects the format from the first row that has one; a
    row in another format (a mixed file) or not fitting its format is a problem naming the row and the field."""
    problems: list[str] = []
    if fmt == "auto":
        found = [(n, detect_format(r)) for n, r in enumerate(rows, 1)]
        # No known fields at all: read as TRL rows, so the checks name the field the method misses.
        fmt = next((f for _, f in found if f), "trl")
        for n, other in found:
            if other and other != fmt:
                problems.append(f"{where}, row {n}: looks like {other} while the file is {fmt} (from its first "
                                "rows); one file holds one format (or set data.format)")
    elif fmt not in FORMATS:
        raise DataError(f"Unknown data format {fmt!r}: use auto or one of {', '.join(FORMATS)}.")
    out = []
    for n, row in enumerate(rows, 1):
        try:
            out.append(normalise(row, fmt))
        except RowProblem as exc:
            part = f", field `{exc.field}`" if exc.field else ""
            text = str(exc)
            problems.append(f"{where}, row {n}{part}: {text}" if not text.startswith("missing field")
                            else f"{where}, row {n}: {text}")
            out.append(dict(row))
    return DataFile(where, out, fmt, problems)


def read_data(source: str, split: str = "train", fields: dict[str, str] | None = None,
              fmt: str = "auto") -> DataFile:
    """A data source's rows renamed by `data.fields` and normalised from its format to TRL's rows."""
    rows = rename_fields(load_records(source, split), fields or {})
    where = Path(source).name if looks_like_path(source) else source
    return normalise_rows(rows, fmt, where)


def read_section(source: str, data: Any) -> DataFile:
    """`read_data` with a recipe's data section's split, field names and format."""
    return read_data(source, data.split, data.fields, data.format)

"""Writing rows as a `.jsonl` file (what convert, split and sample's `--out` produce), never over an existing file
unless asked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.errors import DataError


def check_writable(path: Path, force: bool = False) -> None:
    """Refuse to overwrite a file (unless `force`) or to write into a folder that does not exist."""
    if path.exists() and not force:
        raise DataError(f"{path} already exists; pass --force to overwrite it.")
    if not path.parent.is_dir():
        raise DataError(f"Cannot write {path}: folder {path.parent} does not exist.")


def write_jsonl(path: Path, rows: list[dict[str, Any]], force: bool = False) -> Path:
    """Write one JSON object per line through a temporary file, so a reader never sees half a file."""
    path = Path(path).expanduser()
    check_writable(path, force)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path

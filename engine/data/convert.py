"""`reins data convert`: any format Reins reads, written as TRL's conversational rows (prompts and answers as chat
messages), the shape every TRL trainer takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.data.context import DataContext, read_for_tool
from engine.data.writing import check_writable, write_jsonl

MESSAGE_FIELDS = {"prompt": "user", "chosen": "assistant", "rejected": "assistant", "completion": "assistant"}


def to_conversational(row: dict[str, Any]) -> dict[str, Any]:
    """A normalised row with every text prompt or answer turned into chat messages (plain `text` rows for
    language modelling have no conversational form and stay as they are)."""
    out = dict(row)
    for field, role in MESSAGE_FIELDS.items():
        if isinstance(out.get(field), str):
            out[field] = [{"role": role, "content": out[field]}]
    return out


def convert_file(path: str | Path, out: str | Path, ctx: DataContext, fmt: str | None = None,
                 force: bool = False) -> dict[str, Any]:
    """Write `path` (any format, every row checked first) as TRL conversational rows to `out`."""
    check_writable(Path(out).expanduser(), force)
    data = read_for_tool(path, ctx, fmt, strict=True)
    written = write_jsonl(Path(out), [to_conversational(r) for r in data.rows], force)
    return {"source": str(path), "format": data.format, "rows": len(data.rows), "out": str(written)}


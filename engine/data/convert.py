"""`reins data convert`: any format Reins reads, written as TRL's conversational rows (prompts and answers as chat
messages), the shape every TRL trainer takes."""

from __future__ import annotations

from typing import Any

MESSAGE_FIELDS = {"prompt": "user", "chosen": "assistant", "rejected": "assistant", "completion": "assistant"}


def to_conversational(row: dict[str, Any]) -> dict[str, Any]:
    """A normalised row with every text prompt or answer turned into chat messages (plain `text` rows for
    language modelling have no conversational form and stay as they are)."""
    out = dict(row)
    for field, role in MESSAGE_FIELDS.items():
        if isinstance(out.get(field), str):
            out[field] = [{"role": role, "content": out[field]}]
    return out

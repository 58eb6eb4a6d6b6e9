"""Token lengths of data rows with a model's own tokenizer (`tokenizer.json` through the Rust `tokenizers`, so no
training library is loaded): what pre-flight's truncation warning and `reins data inspect` count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PER_MESSAGE_TOKENS = 5  # chat-template markers around each message
RESPONSES = ("chosen", "rejected", "completion")

Counter = Callable[[Any], int]


def tokenizer_dir(resolved: Any) -> Path:
    """The folder whose tokenizer a resolved model uses: an adapter's base model, else the model itself."""
    if resolved.is_adapter:
        base = resolved.adapter_config().get("base_model_name_or_path")
        return Path(base) if base else resolved.path
    return resolved.path


def token_counter(model_dir: Path) -> Counter | None:
    """A function counting the tokens of text or of a list of chat messages, or None without a `tokenizer.json`."""
    tok_file = Path(model_dir) / "tokenizer.json"
    if not tok_file.is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tok_file))

    def count(value: Any) -> int:
        if isinstance(value, str):
            return len(tokenizer.encode(value).ids)
        if isinstance(value, list):
            return sum(count(m.get("content", "")) + PER_MESSAGE_TOKENS for m in value if isinstance(m, dict))
        return 0

    return count


def row_lengths(rows: list[dict[str, Any]], fields: list[str], count: Counter) -> list[int]:
    """Each row's training length: its prompt fields plus its longest answer (the sequence truncation cuts)."""
    responses = [f for f in fields if f in RESPONSES]
    others = [f for f in fields if f not in responses and f != "label"]
    return [sum(count(r.get(f)) for f in others) + max((count(r.get(f)) for f in responses), default=0)
            for r in rows]


@dataclass(frozen=True)
class Counting:
    """How lengths are counted: a tokenizer (`unit` "tokens", `tokenizer` names its model) or words."""

    count: Counter
    unit: str
    tokenizer: str | None = None


def words(value: Any) -> int:
    """Length in words of text or of chat messages (when no tokenizer is at hand)."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(words(m.get("content", "")) for m in value if isinstance(m, dict))
    return 0

"""The good/degraded system-prompt pairs of system-prompt contrast: the bundled defaults, overrides, names, hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import ReinsError
from engine.paths import BUNDLED_RECIPES

BUNDLED_SYSTEM_PROMPTS = BUNDLED_RECIPES / "synth" / "system_prompts.yaml"
GENERAL = "general"  # the pair for rows without a category, or with one the file does not list
SIDES = ("good", "degraded")


class SystemPair(BaseModel):
    """One category's pair: `good` yields the chosen answer, `degraded` the rejected one."""

    model_config = ConfigDict(extra="forbid")
    good: str = Field(..., min_length=1)
    degraded: str = Field(..., min_length=1)


def text_hash(text: str) -> str:
    """A short content hash that names a system prompt in each output row (the full text lives in synth.json)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def read_pairs(path: Path) -> dict[str, SystemPair]:
    """Category → pair from a YAML file, with file and category named in any complaint."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReinsError(f"Cannot read the system prompts file {path}: {exc.strerror or exc}.") from None
    except yaml.YAMLError as exc:
        raise ReinsError(f"The system prompts file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not raw:
        raise ReinsError(f"The system prompts file {path} must map categories to `good` and `degraded` texts.")
    pairs, problems = {}, []
    for name, value in raw.items():
        try:
            pairs[str(name)] = SystemPair.model_validate(value)
        except ValidationError as exc:
            problems += [f"{name}.{'.'.join(map(str, e['loc'])) or '(value)'}: {e['msg']}" for e in exc.errors()]
    if problems:
        raise ReinsError(f"The system prompts file {path} has problems:", problems=problems)
    return pairs


def system_pairs(file: Path | None = None, good: str | None = None,
                 degraded: str | None = None) -> dict[str, SystemPair]:
    """The bundled pairs, replaced by name by those of `file`; `good`/`degraded` replace that side everywhere."""
    pairs = read_pairs(BUNDLED_SYSTEM_PROMPTS)
    if file is not None:
        pairs.update(read_pairs(file))
    if GENERAL not in pairs:
        raise ReinsError(f"The system prompts need a `{GENERAL}` pair (used for rows without a known category).")
    for side, text in (("good", good), ("degraded", degraded)):
        if text is not None:
            if not text.strip():
                raise ReinsError(f"--{side} is empty: give the text of the {side} system prompt.")
            pairs = {k: v.model_copy(update={side: text}) for k, v in pairs.items()}
    return pairs


def pair_for(pairs: dict[str, SystemPair], category: object) -> tuple[str, SystemPair]:
    """The category name used and its pair (the general one when the row's category has none)."""
    name = str(category) if isinstance(category, str) and category in pairs else GENERAL
    return name, pairs[name]

"""The recipe files on disk (bundled, or in extra folders) with their one-line descriptions: read as plain YAML, so
listing them needs no schema (the TUI lists them while its first screen paints)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.paths import BUNDLED_RECIPES


@dataclass(frozen=True)
class RecipeInfo:
    """A recipe file found on disk, with its one-line description."""

    name: str
    path: Path
    method: str
    description: str


def bundled_recipes(extra_dirs: tuple[Path, ...] = ()) -> list[RecipeInfo]:
    """Every recipe in the bundled folder (and `extra_dirs`), sorted by name; unreadable files are skipped."""
    infos: dict[str, RecipeInfo] = {}
    for folder in (BUNDLED_RECIPES, *extra_dirs):
        for path in sorted(folder.glob("*.yaml")):
            try:
                raw = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError):
                continue
            if not isinstance(raw, dict):
                continue
            method = raw.get("method", {}).get("name", "?") if isinstance(raw.get("method"), dict) else "?"
            infos.setdefault(path.stem, RecipeInfo(path.stem, path, str(method), str(raw.get("description", ""))))
    return sorted(infos.values(), key=lambda i: i.name)

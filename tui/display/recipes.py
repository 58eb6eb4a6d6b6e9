"""How a recipe file is shown: the comment lines it starts with, and its path as short as it can be said."""

from __future__ import annotations

from pathlib import Path


def recipe_header(path: Path) -> list[str]:
    """The comment lines a recipe file starts with (what it does and how to run it)."""
    lines = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith("#"):
                    break
                lines.append(line[1:].strip())
    except OSError:
        return []
    return lines


def display_path(path: Path) -> str:
    """A path as short as it can be said: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)

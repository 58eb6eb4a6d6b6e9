"""What differs between the recipes of runs being compared, as dotted keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.runs.rundir import RunDir


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A nested mapping as dotted keys (`train.learning_rate`), lists kept whole."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: data} if prefix else {}


def config_diff(recipes: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """Only the settings that differ between runs: (dotted key, value per run), sorted by key."""
    flats = [flatten(r) for r in recipes]
    keys = sorted(set().union(*flats)) if flats else []
    missing = object()
    rows = []
    for key in keys:
        values = [f.get(key, missing) for f in flats]
        if any(v != values[0] for v in values[1:]):
            rows.append((key, [None if v is missing else v for v in values]))
    return rows


def read_recipe(run_path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(RunDir(run_path).recipe.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}

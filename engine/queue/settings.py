"""The queue's store-wide settings (`runs/queue/settings.yaml`): how many runs at once, packing, pause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock
from pydantic import Field, ValidationError

from engine.errors import ReinsError
from engine.queue.files import QueueFiles
from engine.recipe.loading import format_error
from engine.recipe.section import Section


class QueueSettings(Section):
    """One file per run store, shared by every user and shell that submits to it."""

    max_running: int | None = Field(None, ge=1)
    """Runs alive at once (queued, direct and pipeline runs all count); unset: 1 on a CPU-only machine, else as many
    as the GPUs hold."""
    pack: bool = False
    """Allow a second run on a GPU that already holds one, when both estimates fit under `pack_share` of it. Off
    until the GPU check has measured how close the estimate is."""
    pack_share: float = Field(0.9, gt=0, le=1)
    """The share of a GPU's memory (less what other users' processes hold) that packed runs' estimates may fill."""
    paused: bool = False
    """A paused queue starts nothing; runs already started go on (`reins queue pause` / `resume`)."""
    poll_s: float = Field(2.0, gt=0, le=60)
    """How often the scheduler looks at the queue and the GPUs, in seconds."""


def read_settings(runs_root: Path) -> QueueSettings:
    """The store's queue settings (defaults when the file is missing); a broken file is a ReinsError."""
    path = QueueFiles(runs_root).settings
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return QueueSettings()
    except (OSError, yaml.YAMLError) as exc:
        raise ReinsError(f"Queue settings {path} cannot be read: {exc}") from None
    return _validate(raw, path)


def _validate(raw: Any, path: Path) -> QueueSettings:
    if not isinstance(raw, dict):
        raise ReinsError(f"Queue settings {path} must be a mapping of setting: value.")
    try:
        return QueueSettings.model_validate(raw)
    except ValidationError as exc:
        raise ReinsError(f"Queue settings {path} are invalid:",
                         problems=[format_error(e) for e in exc.errors()]) from None


def update_settings(runs_root: Path, changes: dict[str, Any]) -> QueueSettings:
    """Apply `changes` to the settings file under its lock (atomically); returns the new settings."""
    files = QueueFiles(runs_root)
    known = list(QueueSettings.model_fields)
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise ReinsError(f"Unknown queue setting {', '.join(unknown)} (known: {', '.join(known)}).")
    _validate({**read_settings(runs_root).model_dump(), **changes}, files.settings)  # before writing anything
    files.ensure()
    with FileLock(str(files.settings_lock), timeout=30):
        new = _validate({**read_settings(runs_root).model_dump(), **changes}, files.settings)
        tmp = files.settings.with_suffix(".yaml.tmp")
        tmp.write_text("# Reins queue settings for this run store (`reins queue set KEY=VALUE` edits this file).\n"
                       + yaml.safe_dump(new.model_dump(), sort_keys=False))
        tmp.replace(files.settings)
        return new


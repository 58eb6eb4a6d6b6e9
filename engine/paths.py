"""Where things live: the run store, the bundled recipes, the model cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_RECIPES = REPO_ROOT / "recipes"


def runs_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The run store: `explicit`, else `$REINS_RUNS_DIR`, else `./runs`."""
    chosen = explicit or os.environ.get("REINS_RUNS_DIR") or "runs"
    return Path(chosen).expanduser().resolve()


def cache_dir() -> Path:
    """Reins' cache (converted models): `$REINS_CACHE_DIR`, else `$XDG_CACHE_HOME/reins`, else `~/.cache/reins`."""
    if os.environ.get("REINS_CACHE_DIR"):
        return Path(os.environ["REINS_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "reins"

"""Reins' engine: recipes, VRAM estimates, detached runs and their events — headless, no UI imports.

The public API (`engine.launch(...)`, `engine.list_runs()`, …) mirrors the `reins` CLI; names load lazily so
`import engine` stays cheap for the TUI.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "launch", "list_recipes", "validate_recipe", "estimate_recipe", "list_runs", "get_run", "stop_run",
    "wait_for", "ReinsError",
]


def __getattr__(name: str) -> Any:
    if name == "ReinsError":
        from engine.errors import ReinsError

        return ReinsError
    if name in __all__:
        from engine import api

        return getattr(api, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")

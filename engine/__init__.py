"""Reins' engine: recipes, VRAM estimates, detached runs and their events — headless, no UI imports.

`import engine` exposes everything `engine.api` does (`engine.launch(...)`, `engine.list_runs()`, …) plus
`ReinsError`; names load lazily so `import engine` stays cheap for the TUI.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "ReinsError":
        from engine.errors import ReinsError

        return ReinsError
    if not name.startswith("_"):
        api = importlib.import_module("engine.api")  # not `from engine import api`: that would come back here
        if name in api.__all__:
            return getattr(api, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    api = importlib.import_module("engine.api")
    return sorted({*globals(), *api.__all__, "ReinsError"})

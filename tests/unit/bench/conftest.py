"""The bench scripts as fixtures: each loaded from its file (they import each other as top-level modules, the way
`python bench/x.py` runs them, and put bench/ on the path themselves)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"


def _load(name: str) -> ModuleType:
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(BENCH / f"{name}.py"):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _fixture(alias: str, name: str) -> object:
    def load() -> ModuleType:
        return _load(name)

    load.__doc__ = f"bench/{name}.py"
    return pytest.fixture(scope="session", name=alias)(load)


gp = _fixture("gp", "gpu_plan")
gc = _fixture("gc", "gpu_check")
gr = _fixture("gr", "gpu_report")
kit = _fixture("kit", "gpu_kit")
ff = _fixture("ff", "fit_from_results")
vv = _fixture("vv", "vram_validate")

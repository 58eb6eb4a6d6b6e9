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


@pytest.fixture(scope="session")
def gp() -> ModuleType:
    """bench/gpu_plan.py"""
    return _load("gpu_plan")


@pytest.fixture(scope="session")
def gc() -> ModuleType:
    """bench/gpu_check.py"""
    return _load("gpu_check")


@pytest.fixture(scope="session")
def gr() -> ModuleType:
    """bench/gpu_report.py"""
    return _load("gpu_report")


@pytest.fixture(scope="session")
def kit() -> ModuleType:
    """bench/gpu_kit.py"""
    return _load("gpu_kit")


@pytest.fixture(scope="session")
def ff() -> ModuleType:
    """bench/fit_from_results.py"""
    return _load("fit_from_results")


@pytest.fixture(scope="session")
def vv() -> ModuleType:
    """bench/vram_validate.py"""
    return _load("vram_validate")

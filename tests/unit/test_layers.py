"""The layer rules of docs/ARCHITECTURE.md, checked in fresh interpreters: the TUI stays torch-free, the engine
stays UI-free, the CLI goes through engine.api, and tests share helpers as fixtures."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINING_LIBS = ("torch", "transformers", "trl", "peft", "bitsandbytes", "accelerate", "datasets")


def modules_of(package: str) -> list[str]:
    pkg_dir = ROOT / package.replace(".", "/")
    names = [package]
    for info in pkgutil.walk_packages([str(pkg_dir)], prefix=f"{package}."):
        if not info.name.startswith("engine.worker") and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def top_levels(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


@pytest.mark.parametrize("module", modules_of("tui"))
def test_tui_never_imports_training_libraries(module: str) -> None:
    loaded = top_levels(loaded_after_import(module))
    assert not loaded & set(TRAINING_LIBS), f"{module} pulls in {sorted(loaded & set(TRAINING_LIBS))}"


@pytest.mark.parametrize("module", modules_of("engine"))
def test_engine_core_never_imports_textual_or_training_libraries(module: str) -> None:
    loaded = top_levels(loaded_after_import(module))
    assert "textual" not in loaded
    # Outside engine/worker/ the heavy libraries are only imported inside the functions that need them.
    assert not loaded & set(TRAINING_LIBS), f"{module} pulls in {sorted(loaded & set(TRAINING_LIBS))}"


def test_worker_is_the_place_that_imports_torch() -> None:
    # The rule above would pass vacuously if the checker saw nothing: make sure it does see the worker's imports.
    assert "torch" in top_levels(loaded_after_import("engine.worker.trainers"))


def test_tests_share_helpers_as_fixtures_not_imports() -> None:
    # Helpers live in conftest.py files as fixtures: a test module that imports another one, or edits sys.path to
    # reach one, hides what it depends on (and breaks under --import-mode=importlib).
    import ast

    tests = ROOT / "tests"
    test_modules = {p.stem for p in tests.rglob("*.py")} - {"conftest", "__init__"}
    offenders = []
    for path in tests.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.relative_to(tests)} imports {n}" for n in names if n.split(".")[0] in test_modules]
            if isinstance(node, ast.Attribute) and node.attr == "insert" and ast.unparse(node.value) == "sys.path":
                offenders.append(f"{path.relative_to(tests)} edits sys.path")
    assert offenders == []


def test_cli_commands_go_through_the_api() -> None:
    # The CLI parses and renders: its commands reach the engine only through engine.api (and engine.errors);
    # the renderers in engine/cli are the one other engine code they use.
    import ast

    allowed = {"engine", "engine.api", "engine.errors"}
    offenders = []
    for path in sorted((ROOT / "engine" / "cli").glob("*.py")):
        if path.name.startswith("render") or path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name} imports {n}" for n in names if n.split(".")[0] == "engine"
                          and n not in allowed and n.split(".")[:2] != ["engine", "cli"]]
    assert offenders == []

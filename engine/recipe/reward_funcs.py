"""GRPO/RLOO reward functions named in a recipe (`file.py:function`): parsing, absolute paths, and checks that read
the file with `ast` (nothing is imported or run before the worker)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from engine.errors import RecipeError


@dataclass(frozen=True)
class RewardFuncRef:
    """One `path/to/file.py:function` reference."""

    path: Path
    function: str

    def __str__(self) -> str:
        return f"{self.path}:{self.function}"


def parse_ref(ref: str) -> RewardFuncRef:
    """Split `file.py:function`; ValueError with the expected shape when it is not one."""
    path, sep, function = ref.rpartition(":")
    if not sep or not path.endswith(".py") or not function.isidentifier():
        raise ValueError(f"{ref!r} is not `path/to/file.py:function`")
    return RewardFuncRef(Path(path).expanduser(), function)


def absolutise(refs: list[str], base: Path) -> list[str]:
    """The references with their files made absolute against `base` (the recipe's folder): a recipe read back from a
    run folder must name the same files."""
    out = []
    for ref in refs:
        parsed = parse_ref(ref)
        path = parsed.path if parsed.path.is_absolute() else (base / parsed.path).resolve()
        out.append(str(RewardFuncRef(path, parsed.function)))
    return out


def defined_functions(path: Path) -> set[str]:
    """Names of the functions defined at the top level of a Python file (sync or async), read with ast."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def ref_problem(ref: str) -> str | None:
    """What is wrong with one reference (missing file, syntax error, no such function), or None."""
    parsed = parse_ref(ref)
    if not parsed.path.is_file():
        return f"{ref}: file {parsed.path} does not exist"
    try:
        names = defined_functions(parsed.path)
    except SyntaxError as exc:
        return f"{ref}: {parsed.path.name} has a syntax error at line {exc.lineno}: {exc.msg}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{ref}: cannot read {parsed.path}: {exc}"
    if parsed.function not in names:
        known = ", ".join(sorted(names)) or "none"
        return f"{ref}: {parsed.path.name} defines no function {parsed.function!r} (top-level functions: {known})"
    return None


def check_reward_funcs(refs: list[str]) -> None:
    """Raise RecipeError listing every reward function that cannot be loaded."""
    problems = [p for p in map(ref_problem, refs) if p]
    if problems:
        raise RecipeError(f"method.reward_funcs has {len(problems)} problem(s):", problems=problems)

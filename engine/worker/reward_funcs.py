"""Loading a recipe's reward functions and wrapping each so that a raise or a wrong-shaped return fails the run with
the function's name and the batch row, instead of a TRL traceback."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import RewardFunctionError
from engine.recipe.reward_funcs import RewardFuncRef, parse_ref

RewardFunc = Callable[..., Any]
PREVIEW_CHARS = 80


def load_reward_funcs(refs: Sequence[str]) -> list[RewardFunc]:
    """Import each `file.py:function` and return its checked wrapper (named as the function, which TRL logs as
    `rewards/<name>/mean`)."""
    return [checked(_import(parse_ref(ref)), ref) for ref in refs]


def _import(ref: RewardFuncRef) -> RewardFunc:
    # A module name unique per file, so two reward files with the same stem do not replace each other.
    digest = hashlib.sha1(str(ref.path).encode()).hexdigest()[:8]
    spec = importlib.util.spec_from_file_location(f"reins_rewards_{ref.path.stem}_{digest}", ref.path)
    if spec is None or spec.loader is None:
        raise RewardFunctionError(ref.function, f"cannot import {ref.path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any error in the user's module is reported with its name
        raise RewardFunctionError(ref.function, f"importing {ref.path} raised {type(exc).__name__}: {exc}") from exc
    func = getattr(module, ref.function, None)
    if not callable(func):
        raise RewardFunctionError(ref.function, f"{ref.path} defines no callable {ref.function!r}")
    return func


def checked(func: RewardFunc, ref: str = "") -> RewardFunc:
    """`func` wrapped: its exceptions and malformed returns become RewardFunctionError naming it and the row."""
    name = getattr(func, "__name__", type(func).__name__)

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def checked_async(prompts: list, completions: list, **kwargs: Any) -> list[float | None]:
            try:
                out = await func(prompts=prompts, completions=completions, **kwargs)
            except Exception as exc:  # noqa: BLE001 - reported with the function's name
                raise _raised(name, exc, prompts, completions, None) from exc
            return check_rewards(name, out, completions)

        return checked_async

    @functools.wraps(func)
    def checked_sync(prompts: list, completions: list, **kwargs: Any) -> list[float | None]:
        try:
            out = func(prompts=prompts, completions=completions, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported with the function's name
            row = failing_row(func, prompts, completions, kwargs)
            raise _raised(name, exc, prompts, completions, row) from exc
        return check_rewards(name, out, completions)

    return checked_sync


def check_rewards(name: str, out: Any, completions: list) -> list[float | None]:
    """`out` as a list of one float or None per completion; RewardFunctionError naming what is wrong otherwise."""
    if not isinstance(out, (list, tuple)):
        raise RewardFunctionError(name, f"returned a {type(out).__name__}, expected a list of one float (or None) "
                                        f"per completion ({len(completions)} here)")
    if len(out) != len(completions):
        raise RewardFunctionError(name, f"returned {len(out)} rewards for {len(completions)} completions: return one "
                                        "float (or None) per completion")
    for row, value in enumerate(out):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise RewardFunctionError(name, f"returned {value!r} ({type(value).__name__}), expected a float or None "
                                            f"(completion: {_preview(completions[row])})", row)
    return list(out)


def failing_row(func: RewardFunc, prompts: list, completions: list, kwargs: dict[str, Any]) -> int | None:
    """The first batch row on which `func` raises when called on that row alone (None if no single row does)."""
    n = len(completions)
    for row in range(n):
        # Per-row columns (prompts, completions, dataset columns) are sliced; trainer state and loggers are shared.
        one = {k: v[row:row + 1] if isinstance(v, list) and len(v) == n else v for k, v in kwargs.items()}
        try:
            func(prompts=prompts[row:row + 1], completions=completions[row:row + 1], **one)
        except Exception:  # noqa: BLE001 - any raise marks the row
            return row
    return None


def _raised(name: str, exc: Exception, prompts: list, completions: list, row: int | None) -> RewardFunctionError:
    where = f" (prompt: {_preview(prompts[row])}; completion: {_preview(completions[row])})" if row is not None \
        else ""
    return RewardFunctionError(name, f"raised {type(exc).__name__}: {exc}{where}", row)


def _preview(value: Any) -> str:
    """A short quote of a prompt or completion (for chat data, the last message's text)."""
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        value = value[-1].get("content", "")
    text = " ".join(str(value).split())
    return repr(text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…")

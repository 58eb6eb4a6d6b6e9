"""Errors a user can cause: each carries a one-paragraph message and maps to exit code 2."""

from __future__ import annotations


class ReinsError(Exception):
    """Bad input or an impossible request; the CLI prints the message and exits 2 (no traceback)."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  {p}" for p in self.problems)


class RecipeError(ReinsError):
    """The recipe (file, overrides or values) is invalid."""


class DataError(ReinsError):
    """The training data is missing or malformed."""


class ModelNotFoundError(ReinsError):
    """The model reference resolves to nothing on this machine."""


class RunNotFoundError(ReinsError):
    """No run with that id (or prefix) exists in the run store."""


class OptionError(ReinsError):
    """Options that contradict each other or are malformed (the CLI shows these with its usage line)."""


class RewardFunctionError(ReinsError):
    """A GRPO/RLOO reward function raised or returned something other than one float (or None) per completion."""

    def __init__(self, function: str, message: str, row: int | None = None) -> None:
        where = f" on row {row} of the batch" if row is not None else ""
        super().__init__(f"Reward function {function!r} failed{where}: {message}")
        self.function = function
        self.row = row

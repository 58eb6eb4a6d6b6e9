"""What the data tools take from a recipe (or from the defaults without one): the tokenizer lengths are counted
with, the fields the method trains on, `train.max_length`, and the files' field names and format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.checks import MAX_REPORTED, check_rows, required_fields
from engine.data.reading import DataFile, read_data
from engine.data.tokens import Counting, token_counter, tokenizer_dir, words
from engine.errors import DataError, ReinsError
from engine.recipe.loading import load_recipe
from engine.recipe.model_refs import resolve_model
from engine.recipe.schema import ModelSection, TrainSection


@dataclass
class DataContext:
    """The recipe's view of a data file (method None: guessed from the rows)."""

    method: str | None = None
    model: str = ModelSection.model_fields["name"].default
    max_length: int = TrainSection.model_fields["max_length"].default
    split: str = "train"
    fields: dict[str, str] = field(default_factory=dict)
    format: str = "auto"
    recipe: str | None = None


def data_context(recipe: str | None, overrides: list[str] | None = None) -> DataContext:
    """The context of `--recipe` (a bundled name or YAML path), or the defaults."""
    if not recipe:
        return DataContext()
    r = load_recipe(recipe, overrides or []).recipe
    return DataContext(r.method.name, r.model.name, r.train.max_length, r.data.split, dict(r.data.fields),
                       r.data.format, recipe)


def guess_method(rows: list[dict[str, Any]]) -> str:
    """The method a file's first row suits when no recipe says: pairs → dpo, labels → kto, answers → sft,
    prompts alone → grpo."""
    first = rows[0] if rows else {}
    if "chosen" in first:
        return "dpo"
    if "label" in first:
        return "kto"
    if {"completion", "messages", "text"} & set(first):
        return "sft"
    return "grpo"


def method_fields(ctx: DataContext, rows: list[dict[str, Any]]) -> list[str]:
    """The fields the recipe's method (or the guessed one) trains on."""
    return required_fields(ctx.method or guess_method(rows), rows)


def read_for_tool(path: str | Path, ctx: DataContext, fmt: str | None, strict: bool) -> DataFile:
    """A file as the data tools read it. `strict`: every row must be readable in its format and hold what the
    method (the recipe's, or the one its rows suit) needs, else DataError listing the problems."""
    data = read_data(str(Path(path).expanduser()), ctx.split, ctx.fields, fmt or ctx.format)
    if not strict:
        return data
    problems = data.problems or check_rows(data.rows, ctx.method or guess_method(data.rows), data.source)
    if problems:
        more = len(problems) - MAX_REPORTED
        shown = problems[:MAX_REPORTED] + ([f"… and {more} more"] if more > 0 else [])
        raise DataError(f"{path} has {len(problems)} problem(s):", problems=shown)
    return data


def counting(ctx: DataContext, runs_root: Path | None = None) -> Counting:
    """Count with the recipe model's tokenizer; in words when it has no `tokenizer.json` or cannot be found."""
    try:
        model_dir = tokenizer_dir(resolve_model(ctx.model, runs_root))
    except ReinsError:
        return Counting(words, "words")
    count = token_counter(model_dir)
    return Counting(count, "tokens", ctx.model) if count else Counting(words, "words")

"""Finding, loading, overriding and validating recipes; turning pydantic errors into plain dotted-path messages."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from engine.errors import RecipeError
from engine.paths import BUNDLED_RECIPES
from engine.recipe.bundled import bundled_recipes
from engine.recipe.methods import METHOD_NAMES, method_spec
from engine.recipe.reward_funcs import absolutise
from engine.recipe.schema import Recipe
from engine.recipe.section import Section

DATA_SUFFIXES = (".jsonl", ".json", ".parquet")


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe plus where it came from."""

    recipe: Recipe
    source: Path
    overrides: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.source.stem


def find_recipe(ref: str) -> Path:
    """Resolve RECIPE as given on the command line: an existing path, or the name of a bundled recipe."""
    candidate = Path(ref).expanduser()
    if candidate.is_file():
        return candidate.resolve()
    if candidate.suffix in (".yaml", ".yml") or "/" in ref:
        raise RecipeError(f"Recipe file {ref!r} does not exist.")
    bundled = BUNDLED_RECIPES / f"{ref}.yaml"
    if bundled.is_file():
        return bundled
    names = [i.name for i in bundled_recipes()]
    close = difflib.get_close_matches(ref, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise RecipeError(
        f"Unknown recipe {ref!r}: it is neither a file nor a bundled recipe.{hint} "
        f"Bundled recipes: {', '.join(names) or 'none'}. `reins recipes` lists them."
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a recipe file, reporting syntax errors with their line and column."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise RecipeError(f"Cannot read recipe {path}: {exc.strerror}.") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RecipeError(f"YAML syntax error in {path}{where}: {exc.problem}.") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"YAML error in {path}: {exc}.") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(f"Recipe {path} must be a mapping of sections (model, data, train, method…).")
    return raw


def load_recipe(ref: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoadedRecipe:
    """Find, parse, override and validate a recipe; data paths become absolute. Raises RecipeError listing problems."""
    path = find_recipe(str(ref))
    raw = read_yaml(path)
    apply_overrides(raw, overrides)
    recipe = validate(raw, source=path)
    recipe = _absolutise_data_paths(recipe, path.parent)
    if getattr(recipe.method, "reward_funcs", None):
        method = recipe.method.model_copy(update={"reward_funcs": absolutise(recipe.method.reward_funcs, path.parent)})
        recipe = recipe.model_copy(update={"method": method})
    return LoadedRecipe(recipe=recipe, source=path, overrides=tuple(overrides))


def validate(raw: dict[str, Any], source: Path | None = None) -> Recipe:
    """Validate a raw mapping; on failure list every problem as `dotted.path: message (got value)`."""
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        problems = [format_error(err) for err in exc.errors()]
        where = f" {source}" if source else ""
        count = len(problems)
        raise RecipeError(
            f"Recipe{where} has {count} problem{'s' if count != 1 else ''}:", problems=problems
        ) from None


def format_error(err: Any) -> str:
    """One pydantic error as a plain line naming its dotted path."""
    loc = _clean_loc(tuple(err.get("loc", ())))
    path = ".".join(str(p) for p in loc) or "(recipe)"
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        return f"{path}: unknown key{_did_you_mean(loc)}"
    if kind == "missing":
        return f"{path}: required, but missing"
    if kind == "union_tag_invalid":
        return f"{path}.name: unknown method {ctx.get('tag')!r} (choose from {', '.join(METHOD_NAMES)})"
    if kind == "union_tag_not_found":
        return f"{path}.name: missing (choose from {', '.join(METHOD_NAMES)})"
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        limit = f"{limit:g}" if isinstance(limit, float) else limit
        return f"{path}: must be {bounds[kind]} {limit} (got {value!r})"
    if kind == "literal_error":
        return f"{path}: must be one of {ctx.get('expected', '?')} (got {value!r})"
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if isinstance(value, (dict, list)) or kind.startswith("value_error"):
        return f"{path}: {message}"
    return f"{path}: {message} (got {value!r})"


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # Discriminated unions insert the tag into the location (`method.dpo.beta`); users never wrote it.
    if len(loc) >= 2 and loc[0] == "method" and loc[1] in METHOD_NAMES:
        loc = (loc[0], *loc[2:])
    # Union members of `lora` / `target_modules` show up as type names in the location.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" — did you mean `{close[0]}`?" if close else f" (known keys: {', '.join(model.model_fields)})"


def _model_at(loc: tuple[Any, ...], method: str | None = None) -> type[Section] | None:
    """The schema class that holds the keys found at `loc` (None if `loc` is not a section)."""
    model: type[BaseModel] = Recipe
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        if part == "method":
            nxt = _method_class(method)
        else:
            nxt = _section_type(field.annotation)
        if nxt is None:
            return None
        model = nxt
    return model  # type: ignore[return-value]


def _method_class(name: str | None) -> type[Section] | None:
    spec = method_spec(name)
    return spec.schema if spec else None


def _section_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is typing.Annotated:
        return _section_type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = [t for t in map(_section_type, typing.get_args(annotation)) if t is not None]
        if len(found) > 1:  # a union of sections (the judge kinds): a key is valid if any member has it
            return type("AnyOf", (), {"model_fields": {k: v for t in found for k, v in t.model_fields.items()}})
        return found[0] if found else None
    return None


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> None:
    """Apply `a.b=value` overrides in place; values are parsed as YAML and typed later by the schema."""
    problems = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"--set {item!r}: expected KEY=VALUE, e.g. train.learning_rate=1e-5")
            continue
        parts = key.split(".")
        method = raw.get("method", {}).get("name") if isinstance(raw.get("method"), dict) else None
        error = _check_key(parts, method)
        if error:
            problems.append(f"--set {key}: {error}")
            continue
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        node = raw
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    if problems:
        raise RecipeError("Invalid --set override:", problems=problems)


def _check_key(parts: list[str], method: str | None) -> str | None:
    """None when the dotted key names a real field, else a message with the closest match."""
    for depth in range(len(parts)):
        model = _model_at(tuple(parts[:depth]), method)
        if model is None:
            parent = _model_at(tuple(parts[: depth - 1]), method) if depth else None
            field = parent.model_fields.get(parts[depth - 1]) if parent else None
            if field is not None and typing.get_origin(field.annotation) is dict:
                return None  # free-form mapping such as data.fields.prompt
            return f"{'.'.join(parts[:depth])} is not a section"
        if depth == 1 and parts[0] == "method" and parts[1] == "name":
            return None
        if parts[depth] not in model.model_fields:
            close = difflib.get_close_matches(parts[depth], list(model.model_fields), n=1, cutoff=0.6)
            prefix = ".".join(parts[:depth] + [close[0]]) if close else ""
            hint = f" — did you mean `{prefix}`?" if close else f" (known: {', '.join(model.model_fields)})"
            return f"no such setting{hint}"
    return None


def _absolutise_data_paths(recipe: Recipe, base: Path) -> Recipe:
    # A resolved recipe must mean the same thing when read back from the run directory.
    updates = {}
    def absolute(value: str) -> str:
        if not looks_like_path(value):
            return value
        candidate = Path(value).expanduser()
        return str((candidate if candidate.is_absolute() else base / candidate).resolve())

    train = recipe.data.train
    if isinstance(train, list):  # a mixture: each file resolved the same way
        updates["train"] = [s.model_copy(update={"path": absolute(s.path)}) for s in train]
    elif train:
        updates["train"] = absolute(train)
    if recipe.data.eval:
        updates["eval"] = absolute(recipe.data.eval)
    text = recipe.report.perplexity_data
    if text and looks_like_path(text) and not Path(text).expanduser().is_absolute():
        report = recipe.report.model_copy(update={"perplexity_data": str((base / text).resolve())})
        recipe = recipe.model_copy(update={"report": report})
    if not updates:
        return recipe
    return recipe.model_copy(update={"data": recipe.data.model_copy(update=updates)})


def looks_like_path(value: str) -> bool:
    """A data reference that names a local file or folder rather than a hub dataset."""
    return value.startswith((".", "/", "~")) or value.endswith(DATA_SUFFIXES) or Path(value).exists()


def dump_recipe(recipe: Recipe) -> str:
    """The fully resolved recipe as YAML (what a run directory's recipe.yaml holds)."""
    data = recipe.model_dump(mode="json")
    # The method's `name` first and its `trl` pass-through last, as a person writes them (pydantic would put the
    # base class's `trl` first).
    method = dict(data["method"])
    trl = method.pop("trl", {})
    data["method"] = {"name": method.pop("name"), **method, "trl": trl}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

"""What a sweep is: a sweep file (`recipes/sweeps/*.yaml`) or the same built from `reins sweep RECIPE --grid …`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from engine.errors import RecipeError
from engine.launching.pipeline import Stage
from engine.paths import BUNDLED_RECIPES
from engine.recipe.loading import format_error, read_yaml
from engine.recipe.section import Section

MAX_MEMBERS_WITHOUT_YES = 64


class SweepSpec(Section):
    """A sweep file: a base recipe and its overrides, the grid, seeds, and how to rank the members."""

    description: str = ""
    """One line on what the sweep asks."""
    recipe: str
    """Bundled recipe name or a path (relative to the sweep file)."""
    set: list[str] = Field(default_factory=list)
    """Overrides every member gets (`dotted.key=value`); `{stage}` names a stage's run (below)."""
    grid: dict[str, list[Any]] = Field(..., min_length=1)
    """Setting → the values to try; members are every combination. A list-valued setting (lora.target_modules)
    takes a list per value."""
    seeds: int = Field(1, ge=1, le=16)
    """Runs per grid point with different `train.seed`s (train.seed, +1, …): members are then ranked by their mean,
    with the spread across seeds shown."""
    metric: str = "auto"
    """What ranks the members: `headline` (the evaluation's headline: the judge's win rate, else held-out pair
    accuracy), a metric key (`eval:loss`, `train:rewards/margins`, or a bare key looked up in eval then train), or
    `auto`: the headline where members have one, else the final eval loss."""
    direction: Literal["max", "min"] | None = None
    """Whether higher or lower is better; unset: lower for losses, higher otherwise."""
    stages: list[Stage] = Field(default_factory=list)
    """Runs made once before the members (e.g. the reward model that judges them), in order; a member's overrides
    name one as `{stage}`. Members wait in the queue until those runs complete."""

    @field_validator("grid")
    @classmethod
    def _values(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"grid {key} has no values")
        return grid


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """`--grid method.beta=0.05,0.1` (repeatable) → {key: [values]}; values are YAML scalars. Lists are swept from a
    sweep file: a comma is always a separator here."""
    grid: dict[str, list[Any]] = {}
    problems = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        values = [v.strip() for v in text.split(",")]
        if not sep or not key or not text.strip() or "" in values:
            problems.append(f"--grid {item!r}: expected KEY=V1,V2,…, e.g. method.beta=0.05,0.1,0.5")
            continue
        if key in grid:
            problems.append(f"--grid {key} is given twice: put every value in one --grid")
            continue
        parsed = [_scalar(v) for v in values]
        if any(isinstance(v, (list, dict)) for v in parsed):
            problems.append(f"--grid {key}: values on the command line are scalars; sweep a list-valued setting "
                            "from a sweep file (recipes/sweeps/*.yaml)")
            continue
        grid[key] = parsed
    if problems:
        raise RecipeError("Invalid --grid:", problems=problems)
    if not grid:
        raise RecipeError("A sweep needs at least one --grid KEY=V1,V2,… (or a sweep file).")
    return grid


STAGE_SET = re.compile(r"^([a-z0-9_-]+):([^=]*=.*)$", re.DOTALL)


def split_overrides(overrides: list[str] | tuple[str, ...],
                    stages: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Command-line `--set`s of a sweep: `key=value` for every member, `STAGE:key=value` for that stage's run only
    (the members' settings do not reach the stages: a shortened demo still trains its judge in full unless told,
    e.g. `judge:train.max_steps=10`). Raises RecipeError for a stage the sweep does not have."""
    members: list[str] = []
    per_stage: dict[str, list[str]] = {name: [] for name in stages}
    for item in overrides:
        m = STAGE_SET.match(item)
        if m is None:
            members.append(item)
        elif m.group(1) in per_stage:
            per_stage[m.group(1)].append(m.group(2))
        else:
            have = f"its stages are {', '.join(stages)}" if stages else "it has no stages"
            raise RecipeError(f"--set {item}: this sweep has no stage {m.group(1)!r} ({have}).")
    return members, per_stage


def with_overrides(spec: SweepSpec, overrides: list[str] | tuple[str, ...]) -> SweepSpec:
    """The spec with command-line `--set`s added (see `split_overrides`)."""
    members, per_stage = split_overrides(overrides, [s.name for s in spec.stages])
    stages = [s.model_copy(update={"set": [*s.set, *per_stage[s.name]]}) for s in spec.stages]
    return spec.model_copy(update={"set": [*spec.set, *members], "stages": stages})


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def is_sweep_file(path: Path) -> bool:
    try:
        return path.is_file() and "grid" in (read_yaml(path) or {})
    except RecipeError:
        return False


def find_sweep(ref: str) -> Path | None:
    """A sweep file given as a path or as `sweeps/<name>` among the bundled recipes; None if `ref` is no sweep."""
    for candidate in (Path(ref), BUNDLED_RECIPES / ref, BUNDLED_RECIPES / f"{ref}.yaml"):
        if candidate.suffix in (".yaml", ".yml") and is_sweep_file(candidate):
            return candidate.resolve()
    return None


def load_sweep(path: Path) -> SweepSpec:
    try:
        spec = SweepSpec.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise RecipeError(f"Sweep file {path} is invalid:", problems=[format_error(e) for e in exc.errors()]) from None
    def near(ref: str) -> str:  # a recipe path is relative to the sweep file; a bare name is a bundled recipe
        local = path.parent / ref
        return str(local.resolve()) if local.is_file() else ref

    stages = [s.model_copy(update={"recipe": near(s.recipe)}) for s in spec.stages]
    return spec.model_copy(update={"recipe": near(spec.recipe), "stages": stages})


def bundled_sweeps() -> list[tuple[str, Path, str]]:
    """(name to type, file, description) of each bundled sweep file."""
    found = []
    for path in sorted((BUNDLED_RECIPES / "sweeps").glob("*.yaml")):
        try:
            found.append((f"sweeps/{path.stem}", path, load_sweep(path).description))
        except RecipeError:
            continue
    return found

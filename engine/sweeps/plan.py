"""Turning a sweep into members: every grid combination (× seeds), each checked as a recipe before anything is queued,
identical ones merged."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.checks import check_data
from engine.errors import RecipeError, ReinsError
from engine.launching.launcher import resolve_inputs
from engine.launching.pipeline import STAGE_REF
from engine.recipe.loading import dump_recipe, load_recipe
from engine.sweeps.spec import MAX_MEMBERS_WITHOUT_YES, SweepSpec

SEED_KEY = "train.seed"


@dataclass
class Member:
    """One run of the sweep: a grid point (and seed) as overrides on the base recipe."""

    point: dict[str, Any]
    seed: int | None
    overrides: list[str]
    merged: list[str] = field(default_factory=list)  # labels of identical members folded into this one

    @property
    def label(self) -> str:
        """`beta=0.1 lr=5e-05 seed=43`: the varied settings by their last name (the whole key where two share it)."""
        names = short_names(list(self.point))
        parts = [f"{names[k]}={_show(v)}" for k, v in self.point.items()]
        return " ".join(parts + ([f"seed={self.seed}"] if self.seed is not None else []))

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "settings": self.point, "seed": self.seed, "overrides": self.overrides,
                "merged": self.merged}


def short_names(keys: list[str]) -> dict[str, str]:
    """Column names for grid keys: the last part of each, unless two keys share it."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last, strict=True)}


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def override(key: str, value: Any) -> str:
    """`key=value` that the recipe loader reads back as `value` (lists and mappings as YAML flow, i.e. JSON)."""
    if isinstance(value, str):
        return f"{key}={value}"
    return f"{key}={json.dumps(value)}"


def expand(spec: SweepSpec, base_seed: int) -> list[Member]:
    """Every combination of the grid's values, in the grid's order, each with `spec.seeds` seeds."""
    keys = list(spec.grid)
    members = []
    for combo in itertools.product(*(spec.grid[k] for k in keys)):
        point = dict(zip(keys, combo, strict=True))
        grid_sets = [override(k, v) for k, v in point.items()]
        for s in range(spec.seeds):
            seed = base_seed + s if spec.seeds > 1 else None
            extra = [override(SEED_KEY, seed)] if seed is not None else []
            members.append(Member(point, seed, [*spec.set, *grid_sets, *extra]))
    return members


def plan(spec: SweepSpec, runs_root: Path, yes: bool = False) -> list[Member]:
    """The sweep's members, each validated as a recipe (schema, models, data) before anything is queued; identical
    members (the same resolved recipe) are merged. Raises RecipeError naming every member that fails, or when the
    grid is larger than 64 members without `yes`."""
    if SEED_KEY in spec.grid and spec.seeds > 1:
        raise RecipeError(f"The grid sweeps {SEED_KEY} and seeds={spec.seeds} also sets it: use one of the two.")
    base = load_recipe(spec.recipe, spec.set)  # `{stage}` references are plain text to the schema
    members = expand(spec, base.recipe.train.seed)
    if len(members) > MAX_MEMBERS_WITHOUT_YES and not yes:
        raise RecipeError(f"This sweep has {len(members)} members (more than {MAX_MEMBERS_WITHOUT_YES}): pass --yes "
                          "to queue them all, or narrow the grid.")
    problems: list[str] = []
    for stage in spec.stages:
        try:
            check_data(load_recipe(stage.recipe, stage.set).recipe)
        except ReinsError as exc:
            problems += [f"stage {stage.name}: {_plain(p)}" for p in (exc.problems or [exc.message])]
    seen: dict[str, Member] = {}
    checked_data: set[str] = set()
    for m in members:
        try:
            loaded = load_recipe(spec.recipe, m.overrides)
            data_key = loaded.recipe.data.model_dump_json()
            if data_key not in checked_data:  # members usually share their data: read it once
                check_data(loaded.recipe)
                checked_data.add(data_key)
            if not any(STAGE_REF.search(o) for o in m.overrides):
                resolve_inputs(loaded, runs_root, pending=[])
        except ReinsError as exc:
            problems += [f"{m.label}: {_plain(p)}" for p in (exc.problems or [exc.message])]
            continue
        resolved = dump_recipe(loaded.recipe)
        if resolved in seen:
            seen[resolved].merged.append(m.label)
        else:
            seen[resolved] = m
    if problems:
        raise RecipeError(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the sweep's members "
                          "(nothing was queued):", problems=problems)
    return list(seen.values())


def _plain(problem: str) -> str:
    # "--set method.beta: …" inside a member's line reads better without the flag it did not type.
    return re.sub(r"^--set ", "", problem.strip())

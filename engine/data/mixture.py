"""Training mixtures: `data.train` as a list of `{path, weight}`, each file's rows drawn in proportion to its weight."""

from __future__ import annotations

import random
from typing import Any

from engine.data.reading import DataFile, read_section


def train_sources(data: Any) -> list[tuple[str, float]]:
    """(file, weight) for every file `data.train` names: one with weight 1, or the mixture's."""
    if isinstance(data.train, list):
        return [(s.path, s.weight) for s in data.train]
    return [(data.train, 1.0)]


def mix(parts: list[list[dict[str, Any]]], weights: list[float], seed: int) -> list[dict[str, Any]]:
    """As many rows as the files hold together, file i's share weight_i / Σ weights: a file with fewer rows than
    its share is repeated (whole copies, then a sample), one with more is sampled. Deterministic for a seed."""
    total, weight_sum = sum(len(p) for p in parts), sum(weights)
    rng = random.Random(seed)
    mixed: list[dict[str, Any]] = []
    for rows, weight in zip(parts, weights, strict=True):
        want = round(total * weight / weight_sum)
        if not rows:
            continue
        copies, rest = divmod(want, len(rows))
        mixed += rows * copies + rng.sample(rows, rest)
    rng.shuffle(mixed)
    return mixed


def read_train(data: Any, seed: int = 0) -> DataFile:
    """The training rows a recipe's data section names, normalised to TRL rows (mixed when it lists files), with
    every file's problems."""
    sources = train_sources(data)
    files = [read_section(path, data) for path, _ in sources]
    if len(files) == 1:
        return files[0]
    formats = {f.format for f in files}
    rows = mix([f.rows for f in files], [w for _, w in sources], seed)
    return DataFile(" + ".join(f.source for f in files), rows, formats.pop() if len(formats) == 1 else "mixed",
                    [p for f in files for p in f.problems])

"""The Wilson score interval of a proportion: the one interval every win rate, pair accuracy and share in Reins uses."""

from __future__ import annotations

import math


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% (by default) interval of a proportion `p` measured over `n` items; honest at the small n a report has,
    where the normal approximation would reach below 0 or above 1."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)

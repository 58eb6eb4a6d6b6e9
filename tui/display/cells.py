"""Values as table cells: the engine's number format, at three decimals to fit a column."""

from __future__ import annotations

from engine.formatting import fmt as engine_fmt


def fmt(value: object, digits: int = 3) -> str:
    """`0.693`, `2.00e-04`, `12`, `yes`; '' for no value."""
    return engine_fmt(value, digits)

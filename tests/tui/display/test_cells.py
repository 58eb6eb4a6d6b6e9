"""Table cells use the engine's one number formatter, at three decimals; the CLI's four stay as they were."""

from __future__ import annotations

from engine.formatting import fmt as engine_fmt
from tui.display.cells import fmt


def test_cells_are_short_and_blank_for_no_value() -> None:
    assert fmt(0.69314) == "0.693"
    assert fmt(1.25, 2) == "1.25"
    assert fmt(2e-4) == "2.00e-04" and fmt(123456.0) == "1.23e+05"
    assert fmt(12) == "12" and fmt(0) == "0"
    assert fmt(None) == "" and fmt("") == ""
    assert fmt(True) == "yes" and fmt(False) == "no"
    assert fmt("nan") == "nan"


def test_the_engine_formatter_keeps_four_decimals_by_default() -> None:
    assert engine_fmt(0.69314) == "0.6931"
    assert engine_fmt(-231.5) == "-231.5000"
    assert engine_fmt("—") == "—"

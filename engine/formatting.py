"""Numbers and durations as people read them in tables and logs (the CLI, the report and the TUI)."""

from __future__ import annotations


def hms(seconds: float | None) -> str:
    """`H:MM:SS`, or '' for no (or a negative) duration."""
    if seconds is None or seconds < 0:
        return ""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def fmt(value: object) -> str:
    """A metric value in a short, readable form."""
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.4f}"
    return str(value)

"""Numbers and durations as people read them in tables and logs (the CLI, the report and the TUI)."""

from __future__ import annotations


def hms(seconds: float | None) -> str:
    """`H:MM:SS`, or '' for no (or a negative) duration."""
    if seconds is None or seconds < 0:
        return ""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def fmt(value: object, digits: int = 4) -> str:
    """A metric value in a short, readable form: `digits` decimals, or scientific notation when tiny or huge; '' for
    no value, yes/no for a flag."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def one_line(text: object, width: int) -> str:
    """`text` on one line (runs of whitespace become one space), cut to `width` characters with `…`."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"

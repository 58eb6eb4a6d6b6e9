"""What the screens display, computed from engine data without any widget: rows, chart series, diffs, the form."""

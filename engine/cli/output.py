"""Where the CLI writes: rich consoles for stdout and stderr, JSON on stdout, and the exit code of a run's status."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Piped output (scripts, logs) gets a wide fixed width so tables are never truncated at 80 columns.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def exit_for(status: str) -> int:
    """0 for a run that completed, 1 for any other ending."""
    return 0 if status == "completed" else 1

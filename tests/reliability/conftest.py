"""Reliability suite: helpers importable as `relsupport` (the parent conftest provides `support` and fixtures)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

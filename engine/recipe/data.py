"""Where the data helpers used to live: `engine/data/` holds them now (reading.py, checks.py); these names stay
importable from here for code written against the old place."""

from engine.data.checks import check_data, check_rows, required_fields
from engine.data.reading import load_records, rename_fields

__all__ = ["check_data", "check_rows", "load_records", "rename_fields", "required_fields"]

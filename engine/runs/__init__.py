"""The run store: one folder per run, its append-only events, the index over them, damaged-run salvage."""

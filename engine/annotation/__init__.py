"""Annotation sets: people decide between answers in the terminal; decisions go to an append-only journal."""

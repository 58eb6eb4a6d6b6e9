"""Reins' Textual app (a thin client of `engine`); it never imports torch or a training library."""

"""Reins' Textual app (a thin client of `engine`); it never imports torch or a training library.

The screens land with the TUI issue; until then `make run` runs the DPO demo headless through the CLI.
"""

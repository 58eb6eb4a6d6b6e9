"""Plain-text renderers for judge results: a head-to-head comparison of two runs."""

from __future__ import annotations

from typing import Any

from engine.verdict.head_to_head_view import head_to_head_line


def head_to_head_text(result: dict[str, Any]) -> str:
    """What `reins report A --against B` prints: the tally with its interval and lengths, and how many prompts
    the two runs shared."""
    prompts = result["prompts"]
    return (f"{result['run']} {head_to_head_line(result, run=result['run'])}\n"
            f"prompts matched: {prompts['matched']} (of {prompts['run']} stored by {result['run']} and "
            f"{prompts['against']} by {result['against']})")

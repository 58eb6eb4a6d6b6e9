"""What a report says about head-to-head results (`reins report A --against B`): the latest against each run."""

from __future__ import annotations

from typing import Any

from engine.verdict.judge_data import same_data_note
from engine.verdict.lengths import length_text


def latest_head_to_head(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest `head_to_head` event against each other run, in the order the runs were first compared."""
    latest: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("kind") == "head_to_head" and e.get("against"):
            latest[e["against"]] = {k: v for k, v in e.items() if k != "kind"}
    return list(latest.values())


def head_to_head_line(result: dict[str, Any], run: str = "this run") -> str:
    """`against B: win rate 0.625 (95% CI …) over 8 common prompts — 4 wins, 2 ties, 2 losses (judge: …)` + lengths."""
    judge, against = result["judge"], result["against"]
    if not judge.get("n"):
        return f"against {against}: nothing judged"
    ci = judge.get("ci95")
    interval = f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else ""
    line = (f"against {against}: win rate of {run} {judge['win_rate']:.3f}{interval} over {judge['n']} common "
            f"prompts — {judge['wins']} wins, {judge['ties']} ties, {judge['losses']} losses (judge: {judge['kind']} "
            f"{judge['model']}; ties count half)")
    lengths = length_text(judge, first=f"{run}'s", second=f"{against}'s")
    line += f"; {lengths}" if lengths else ""
    return line + (f"; {same_data_note('one of the two runs')}" if judge.get("same_data") else "")


def head_to_head_markdown(results: list[dict[str, Any]]) -> list[str]:
    """report.md's "Head to head" section (nothing when the run was never compared)."""
    if not results:
        return []
    return ["## Head to head", "", *[f"- {head_to_head_line(r)}" for r in results], ""]

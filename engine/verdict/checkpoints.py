"""Which saved checkpoint did best on the held-out pairs, and what the report says about it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.formatting import fmt

BEST_BY = "accuracy_per_token, then margin; a tie goes to the later step"
# Alerts whose advice amounts to "stop earlier": over-training shows in them before it shows anywhere else.
STOP_EARLIER_RULES = ("accuracy_overfit", "eval_margin_divergence", "kl_too_high", "reward_hacking")


def best_step(entries: Sequence[dict[str, Any]]) -> int:
    """The step whose held-out pair figures are best by `BEST_BY`. A full tie goes to the later step, so an earlier
    checkpoint is only ever recommended when it measured better than what training went on to produce."""
    if not entries:
        raise ValueError("no checkpoint figures to choose from")
    return max(entries, key=lambda e: (_num(e.get("accuracy_per_token")), _num(e.get("margin")), e["step"]))["step"]


def _num(v: Any) -> float:
    # NaN (a diverged checkpoint, written as the string "nan") must lose, not compare unordered.
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v else float("-inf")


def _entry(ck: dict[str, Any], step: Any) -> dict[str, Any]:
    return next(e for e in ck["steps"] if e["step"] == step)


def best_sentence(ck: dict[str, Any]) -> str | None:
    """'step 8 beat the final step 20 on held-out pairs (…)': None when the final weights are the best."""
    best, final = _entry(ck, ck["best_step"]), _entry(ck, ck["final_step"])
    if best is final:
        return None
    versus = f"{fmt(best['accuracy_per_token'], 3)} vs {fmt(final['accuracy_per_token'], 3)} per-token accuracy"
    if best["accuracy_per_token"] == final["accuracy_per_token"]:  # the margin decided
        versus += f", margin {fmt(best['margin'], 2)} vs {fmt(final['margin'], 2)} nats"
    return (f"step {best['step']} beat the final step {final['step']} on held-out pairs ({versus}): "
            f"`{best['path']}` is the one to keep")


def alert_sentence(ck: dict[str, Any], alerts: Sequence[dict[str, Any]]) -> str | None:
    """One line joining a 'stop earlier' alert to what the checkpoints measured: confirmed, or not borne out."""
    fired = [a for a in alerts if a.get("rule") in STOP_EARLIER_RULES]
    if not fired:
        return None
    first = min(fired, key=lambda a: a.get("step") or 0)
    named = f"`{first['rule']}` (step {first.get('step')})"
    if ck["best_step"] != ck["final_step"]:
        return (f"{named} advised stopping earlier, and the held-out pairs agree: step {ck['best_step']} scored "
                f"better than the final step {ck['final_step']}.")
    return (f"{named} advised stopping earlier, but no saved checkpoint beat the final weights on held-out pairs"
            + (" (only the final weights were compared: set train.save_steps)" if len(ck["steps"]) == 1 else "")
            + ".")


def checkpoints_markdown(ck: dict[str, Any] | None, alerts: Sequence[dict[str, Any]]) -> list[str]:
    """The report's "Checkpoints" section: one row per saved step, the best marked."""
    if not ck or not ck.get("steps"):
        return []
    lines = [f"## Checkpoints: held-out pairs at each saved step ({ck['pairs']} pairs)", "",
             "| step | pair accuracy | per-token accuracy | margin (nats) | |", "|---|---|---|---|---|"]
    for e in ck["steps"]:
        mark = "**best**" if e["step"] == ck["best_step"] else ""
        where = "final" if e.get("final") else f"`{e['path']}`"
        lines.append(f"| {e['step']} ({where}) | {fmt(e['accuracy'], 3)} | {fmt(e['accuracy_per_token'], 3)} | "
                     f"{fmt(e['margin'], 2)} | {mark} |")
    lines += ["", f"- best by {ck['best_by']}"]
    lines += [f"- {s}" for s in (best_sentence(ck), alert_sentence(ck, alerts)) if s]
    return [*lines, ""]


def checkpoint_rows(values: dict[str, Any]) -> dict[str, str]:
    """The best checkpoint as a short table cell, for side-by-side comparison of runs."""
    ck = values.get("checkpoints") or {}
    if not ck.get("steps"):
        return {}
    return {"best checkpoint": f"step {ck['best_step']} of {ck['final_step']}"}

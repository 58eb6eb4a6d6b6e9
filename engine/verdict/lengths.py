"""Answer lengths behind a judge's verdicts: mean lengths, their ratio, and which pairs are close enough in length
for a length-matched win rate (judges, reward models above all, tend to prefer the longer answer)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MATCHED = (0.8, 1.25)  # a pair is length-matched when policy/reference length lies in this range (inclusive)
MUCH_LONGER = MATCHED[1]  # the policy's answers are flagged as much longer past this mean ratio
SIDES = ("policy", "reference")


def _unit(samples: Sequence[dict[str, Any]]) -> str:
    """Tokens when every sample carries them (the policy tokenizer's count), else whitespace words for all."""
    has_tokens = all(isinstance((s.get("tokens") or {}).get(w), int) for s in samples for w in SIDES)
    return "tokens" if samples and has_tokens else "words"


def _length(sample: dict[str, Any], who: str, unit: str) -> int:
    return int(sample["tokens"][who]) if unit == "tokens" else len(str(sample.get(who) or "").split())


def ratio(policy: float, reference: float) -> float:
    """policy/reference length; two empty answers are alike (1), one empty answer against any other is not (inf)."""
    if reference == 0:
        return 1.0 if policy == 0 else math.inf
    return policy / reference


def length_matched(samples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples whose two answers are within 0.8–1.25× of each other in length."""
    unit = _unit(samples)
    lo, hi = MATCHED
    return [s for s in samples if lo <= ratio(_length(s, "policy", unit), _length(s, "reference", unit)) <= hi]


def length_figures(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean answer length per side, their ratio, and whether the policy's answers are much longer."""
    if not samples:
        return {}
    unit = _unit(samples)
    means = {w: sum(_length(s, w, unit) for s in samples) / len(samples) for w in SIDES}
    r = ratio(means["policy"], means["reference"])
    return {"lengths": {w: round(v, 1) for w, v in means.items()}, "length_unit": unit,
            "length_ratio": round(r, 3) if math.isfinite(r) else None, "policy_much_longer": r > MUCH_LONGER}


def length_text(result: dict[str, Any], first: str = "policy", second: str = "reference") -> str | None:
    """One sentence on length for a judge's result (`first`/`second` name the sides as the reader knows them)."""
    lengths = result.get("lengths")
    if not lengths:
        return None
    r, unit = result.get("length_ratio"), result.get("length_unit", "tokens")
    shown = f"{r:.2f}×" if r is not None else "infinitely"
    head = (f"judges favour length: {first} answers are {shown} longer" if result.get("policy_much_longer") else
            f"answer lengths: {first} {shown} {second}")
    head += f" (mean {lengths['policy']:g} vs {lengths['reference']:g} {unit})"
    matched = result.get("length_matched") or {}
    if not matched.get("n"):
        return head + f"; no pair is within {MATCHED[0]}–{MATCHED[1]}× in length, so no length-matched win rate"
    ci = matched.get("ci95")
    interval = f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else ""
    return head + f"; length-matched win rate {matched['win_rate']:.2f}{interval} over {matched['n']} pairs"


def length_rows(judge: dict[str, Any]) -> dict[str, str]:
    """The judge's length figures as table cells: the policy/reference length ratio and the length-matched rate."""
    rows: dict[str, str] = {}
    r = judge.get("length_ratio")
    if "lengths" in judge:
        shown = f"{r:.2f}×" if r is not None else "∞"
        rows["length policy/ref"] = shown + (" LONGER" if judge.get("policy_much_longer") else "")
    matched = judge.get("length_matched") or {}
    if matched.get("n"):
        ci = matched.get("ci95")
        rows["length-matched win rate"] = (f"{matched['win_rate']:.2f}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")
                                           + f", {matched['n']} pairs")
    return rows

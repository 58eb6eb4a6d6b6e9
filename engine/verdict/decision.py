"""Keep, don't keep or inconclusive: the report's figures judged by rules a user can read, with their numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine.verdict.intervals import wilson

if TYPE_CHECKING:  # listings rank runs with this module and must not pay for pydantic
    from engine.recipe.schema import VerdictSection

KEEP, DONT_KEEP, INCONCLUSIVE = "keep", "don't keep", "inconclusive"
VERDICTS = (KEEP, INCONCLUSIVE, DONT_KEEP)  # best first: how runs rank
PASS, FAIL, UNDECIDED, NOT_MEASURED = "pass", "fail", "undecided", "not measured"


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome: what it asks (with its threshold) and what was measured."""

    name: str
    outcome: str
    rule: str
    measured: str


@dataclass(frozen=True)
class Decision:
    """The verdict, every rule behind it, and the one number runs are ranked by."""

    verdict: str
    rules: list[RuleResult]
    headline: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "rules": [asdict(r) for r in self.rules], "headline": self.headline}


def _win_rate(ev: dict[str, Any], alerts: list[dict[str, Any]], cfg: VerdictSection) -> RuleResult:
    threshold = cfg.min_win_rate_lower
    rule = f"the win rate's 95% interval lies above {threshold:g}"
    judge = ev.get("judge") or {}
    if not judge.get("n"):
        failed = (ev.get("errors") or {}).get("judge")
        why = f"the judge failed ({failed})" if failed else "no judge (set report.judge)"
        return RuleResult("win_rate", NOT_MEASURED, rule, why)
    lo, hi = judge["ci95"]
    measured = (f"{judge['win_rate']:.3f} ({lo:.2f}–{hi:.2f}) over {judge['n']} prompts, "
                f"{judge['wins']}/{judge['ties']}/{judge['losses']} W/T/L")
    if lo > threshold and judge.get("policy_much_longer"):
        # judges favour length: a win carried by longer answers must also hold where the lengths are alike
        matched = judge.get("length_matched") or {}
        ratio = judge.get("length_ratio")
        longer = f"policy answers {ratio:.2f}× longer" if isinstance(ratio, (int, float)) else "policy answers longer"
        if not matched.get("n"):
            return RuleResult("win_rate", UNDECIDED, rule, f"{measured}; but {longer} and no pair of similar length")
        m_lo, m_hi = matched["ci95"]
        m_text = (f"length-matched {matched['win_rate']:.3f} ({m_lo:.2f}–{m_hi:.2f}) over {matched['n']} pairs")
        if m_lo <= threshold:
            return RuleResult("win_rate", UNDECIDED, rule, f"{measured}; but {longer} and {m_text}")
        return RuleResult("win_rate", PASS, rule, f"{measured}; {longer}, {m_text}")
    if lo > threshold:
        return RuleResult("win_rate", PASS, rule, measured)
    if hi < threshold:
        return RuleResult("win_rate", FAIL, rule, measured + ": the reference is better")
    return RuleResult("win_rate", UNDECIDED, rule, measured + ": the interval straddles " + f"{threshold:g}")


def _probes(ev: dict[str, Any], alerts: list[dict[str, Any]], cfg: VerdictSection) -> RuleResult:
    rule = f"at most {cfg.max_probe_drops} capability suite(s) drop (paired 95% interval of the change below 0)"
    # lm-evaluation-harness tasks count like the bundled suites (each has `dropped` from its own interval)
    probes = {**(ev.get("probes") or {}), **{f"lm_eval:{k}": v for k, v in (ev.get("lm_eval") or {}).items()
                                             if isinstance(v, dict)}}
    if not probes:
        return RuleResult("capability_probes", NOT_MEASURED, rule, "no probes ran")
    dropped = sorted(name for name, suite in probes.items() if suite.get("dropped"))
    measured = f"{len(dropped)} of {len(probes)} dropped" + (f": {', '.join(dropped)}" if dropped else "")
    return RuleResult("capability_probes", FAIL if len(dropped) > cfg.max_probe_drops else PASS, rule, measured)


def _looping(ev: dict[str, Any], alerts: list[dict[str, Any]], cfg: VerdictSection) -> RuleResult:
    rule = f"the policy loops in at most {cfg.max_extra_looping} more answer(s) than the reference"
    rep = ev.get("repetition") or {}
    if not rep:
        return RuleResult("looping", NOT_MEASURED, rule, "no generations")
    extra = rep["policy_looping"] - rep["reference_looping"]
    measured = f"reference {rep['reference_looping']}, policy {rep['policy_looping']} looping answers"
    return RuleResult("looping", FAIL if extra > cfg.max_extra_looping else PASS, rule, measured)


def _perplexity(ev: dict[str, Any], alerts: list[dict[str, Any]], cfg: VerdictSection) -> RuleResult:
    ppl = ev.get("perplexity") or {}
    rule = f"perplexity on plain text rises by at most {ppl.get('max_increase_pct', 10):g}%"
    if not ppl:
        return RuleResult("perplexity", NOT_MEASURED, rule, "not measured")
    change = ppl.get("change_pct")
    measured = f"{change:+.2f}%" if isinstance(change, (int, float)) else "not finite (the weights diverged)"
    return RuleResult("perplexity", FAIL if ppl.get("regressed") else PASS, rule, measured)


def _error_alerts(ev: dict[str, Any], alerts: list[dict[str, Any]], cfg: VerdictSection) -> RuleResult:
    rule = "no error-severity red flag during training"
    errors = sorted({a["rule"] for a in alerts if a.get("severity") == "error"})
    if not cfg.error_alerts:
        return RuleResult("error_alerts", NOT_MEASURED, rule, "switched off (report.verdict.error_alerts: false)")
    return RuleResult("error_alerts", FAIL if errors else PASS, rule, ", ".join(errors) or "none")


RULES: tuple[Callable[[dict[str, Any], list[dict[str, Any]], VerdictSection], RuleResult], ...] = (
    _win_rate, _probes, _looping, _perplexity, _error_alerts)


def headline(ev: dict[str, Any]) -> dict[str, Any] | None:
    """The one number a run is ranked by: the judge's win rate when there is one, else how often the policy prefers
    the chosen answer of a held-out pair per token (a measurement, not a judgement); each with its 95% interval, so
    a sweep marks a best member only when the figures are apart."""
    judge = ev.get("judge") or {}
    if judge.get("n"):
        lo, hi = judge["ci95"]
        return {"metric": "win rate", "value": judge["win_rate"], "low": lo, "high": hi, "n": judge["n"]}
    pref = ev.get("preference") or {}
    if pref.get("pairs"):
        value, n = pref["policy"]["accuracy_per_token"], pref["pairs"]
        lo, hi = wilson(value, n)  # each held-out pair is one yes/no: chosen preferred or not
        return {"metric": "pair accuracy per token", "value": value, "low": round(lo, 4), "high": round(hi, 4),
                "before": pref["reference"]["accuracy_per_token"], "n": n}
    return None


def decide(evaluation: dict[str, Any], alerts: list[dict[str, Any]], cfg: VerdictSection | None = None) -> Decision:
    """Any rule that fails → don't keep; otherwise keep only when the win rate passed (improvement is shown, not
    assumed); otherwise inconclusive. A check that was not measured never passes on its own."""
    if cfg is None:
        from engine.recipe.schema import VerdictSection

        cfg = VerdictSection()
    results = [rule(evaluation, alerts, cfg) for rule in RULES]
    if any(r.outcome == FAIL for r in results):
        verdict = DONT_KEEP
    elif results[0].outcome == PASS:
        verdict = KEEP
    else:
        verdict = INCONCLUSIVE
    return Decision(verdict, results, headline(evaluation))


def rank_key(record: dict[str, Any]) -> tuple[int, float]:
    """Sort key for runs, best first: verdict, then the headline's lower bound (or its value)."""
    verdict = record.get("verdict")
    order = VERDICTS.index(verdict) if verdict in VERDICTS else len(VERDICTS)
    head = record.get("headline") or {}
    score = head.get("low", head.get("value"))
    return order, -(score if isinstance(score, (int, float)) else -1.0)


def verdict_cell(record: dict[str, Any]) -> str:
    """`keep 0.62` / `inconclusive 0.55` for a listing; empty for a run without a verdict."""
    verdict = record.get("verdict")
    if not verdict:
        return ""
    value = (record.get("headline") or {}).get("value")
    return verdict + (f" {value:.2f}" if isinstance(value, (int, float)) else "")


SHORT = {KEEP: "keep", DONT_KEEP: "drop", INCONCLUSIVE: "unsure"}


def short_verdict(record: dict[str, Any]) -> str:
    """`keep .62` / `drop .41` / `unsure .55` for a narrow table column; empty without a verdict."""
    verdict = record.get("verdict")
    if verdict not in SHORT:
        return ""
    value = (record.get("headline") or {}).get("value")
    return SHORT[verdict] + (f" {value:.2f}".replace("0.", ".", 1) if isinstance(value, (int, float)) else "")


def markdown(decision: Decision) -> list[str]:
    """report.md's verdict section: the verdict and its rules as a table."""
    lines = [f"## Verdict: {decision.verdict}", "", "| rule | measured | outcome |", "|---|---|---|"]
    lines += [f"| {r.rule} | {r.measured} | {r.outcome} |" for r in decision.rules]
    return lines + ["", "Any failed rule → don't keep; keep needs the win rate to pass; otherwise inconclusive. "
                        "Thresholds: `report.verdict` in the recipe.", ""]

"""`reins report`: did alignment work? Before/after figures, generations, win rate, perplexity, red flags."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ReinsError
from engine.formatting import fmt
from engine.recipe.methods import method_spec
from engine.runs.events import read_all
from engine.runs.rundir import RunDir, write_json_atomic
from engine.verdict import decision
from engine.verdict.agreement import agreement_markdown, run_agreement
from engine.verdict.checkpoints import checkpoint_rows, checkpoints_markdown
from engine.verdict.head_to_head_view import head_to_head_markdown, latest_head_to_head
from engine.verdict.healthcheck import monitor_for, recipe_of
from engine.verdict.judge_data import NOTE as SAME_DATA_NOTE
from engine.verdict.judge_data import complete_judge_result
from engine.verdict.lengths import length_rows, length_text
from engine.verdict.probes import probes_cell, probes_markdown

# What a preference report compares, in the order a reader wants it.
PREFERENCE_KEYS = ("rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected", "accuracy", "margin",
                   "loss")
LOGP_KEYS = ("logps/chosen", "logps/rejected")
LOOPING = 0.5  # share of repeated word 3-grams from which an answer reads as a loop (normal prose: under 0.15)
SAMPLES_SHOWN = 8  # report.md shows this many side-by-side generations; report.json keeps them all


class ReportError(ReinsError):
    """The run cannot be reported on (no events, or no evaluation to compare)."""


@dataclass
class Report:
    """The post-training report of one run, as written to `report.json`."""

    run: str
    method: str | None
    status: str | None
    steps: int
    eval_before: dict[str, Any] = field(default_factory=dict)
    eval_after: dict[str, Any] = field(default_factory=dict)
    before_step: int | None = None
    after_step: int | None = None
    verdict: str = ""
    logps: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    decision: dict[str, Any] | None = None  # keep / don't keep / inconclusive, its rules and the headline number
    annotations: dict[str, Any] = field(default_factory=dict)  # human agreement with the judge (agreement.py)
    head_to_head: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _finite(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def preference_verdict(before: dict[str, Any], after: dict[str, Any]) -> str:
    """One sentence on whether held-out preference accuracy and margin rose (TRL's eval metrics: the implicit
    reward's for the DPO family, the reward model's own `accuracy`/`margin` for RM)."""
    acc_key, margin_key = ("rewards/accuracies", "rewards/margins") if "rewards/accuracies" in after else \
        ("accuracy", "margin")
    acc0, acc1 = _finite(before.get(acc_key)), _finite(after.get(acc_key))
    m0, m1 = _finite(before.get(margin_key)), _finite(after.get(margin_key))
    if acc0 is None or acc1 is None:
        loss0, loss1 = _finite(before.get("loss")), _finite(after.get("loss"))
        if loss0 is not None and loss1 is not None:  # SFT: the held-out loss is the figure that says it learned
            word = "improved" if loss1 < loss0 else "not improved"
            return f"{word}: held-out loss {loss0:.3f} → {loss1:.3f}"
        return "no held-out preference accuracy to compare"
    if acc1 > acc0 and (m1 or 0) > (m0 or 0):
        return f"improved: held-out preference accuracy {acc0:.3f} → {acc1:.3f}, margin {m0:.3f} → {m1:.3f}"
    if acc1 > acc0:
        return f"mixed: held-out accuracy rose ({acc0:.3f} → {acc1:.3f}) but the margin did not ({m0} → {m1})"
    return f"not improved: held-out preference accuracy {acc0:.3f} → {acc1:.3f}"


def pair_verdict(pref: dict[str, Any], after: dict[str, Any]) -> str:
    """The verdict from pair log-probs: how often the reference and the policy give the chosen answer the higher
    log-prob (summed, and per token so length does not decide). Unlike the implicit reward (0 for every pair before
    training), the 'before' here is a measurement."""
    ref, pol = pref["reference"], pref["policy"]
    a0, a1, m0, m1 = (_finite(v) for v in (ref["accuracy"], pol["accuracy"], ref["margin"], pol["margin"]))
    t0, t1 = _finite(ref.get("accuracy_per_token", a0)), _finite(pol.get("accuracy_per_token", a1))
    if None in (a0, a1, m0, m1, t0, t1):
        return "not improved: the policy's held-out log-probs are not finite (NaN/inf): the weights diverged"
    rose, fell = a1 > a0 or t1 > t0, a1 < a0 or t1 < t0
    if m1 > m0 and rose and not fell:
        word = "improved"
    elif m1 > m0 or rose:
        word = "mixed"
    else:
        word = "not improved"
    text = (f"{word}: held-out pairs where the chosen answer is the more likely ({pref['pairs']} pairs, reference → "
            f"policy): {a0:.3f} → {a1:.3f} by summed log-prob, {t0:.3f} → {t1:.3f} per token; margin "
            f"{m0:+.2f} → {m1:+.2f} nats")
    implicit = _finite(after.get("rewards/accuracies"))
    return text + (f"; implicit-reward accuracy at the end {implicit:.3f}" if implicit is not None else "")


def logp_sanity(before: dict[str, Any], after: dict[str, Any], floor: float, min_drop: float) -> dict[str, Any]:
    """Eval log-probs before and after against the collapse floor (the "below −200" check): rejection has collapsed
    when it ends below the floor *and* fell at least `min_drop` nats during training (long responses start low)."""
    out: dict[str, Any] = {"floor": floor, "min_drop": min_drop}
    for key in LOGP_KEYS:
        b, a = _finite(before.get(key)), _finite(after.get(key))
        if a is not None:
            out[key] = {"before": b, "after": a, "change": None if b is None else a - b}
    rej = out.get("logps/rejected")
    out["rejected_collapsed"] = bool(rej and rej["after"] < floor and rej["change"] is not None
                                     and -rej["change"] >= min_drop)
    return out


def qualify(verdict: str, logps: dict[str, Any], alerts: list[dict[str, Any]],
            evaluation: dict[str, Any] | None = None) -> str:
    """A rising accuracy is not success when the log-probs collapsed, general text got harder to predict, or an
    error was raised: say so first."""
    doubts = []
    rep = (evaluation or {}).get("repetition") or {}
    if rep and rep["policy_looping"] > rep["reference_looping"]:
        doubts.append(f"{rep['policy_looping']} policy answer(s) loop (≥{LOOPING:.0%} of word 3-grams repeated) "
                      f"against {rep['reference_looping']} of the reference's: read the samples")
    ppl = (evaluation or {}).get("perplexity") or {}
    if ppl.get("regressed"):
        doubts.append("capability regression: " + perplexity_text(ppl))
    chosen = (logps.get("logps/chosen") or {}).get("change")
    if logps.get("rejected_collapsed"):
        doubts.append(f"rejected log-probs collapsed ({logps['logps/rejected']['change']:+.0f} nats on eval)")
    if chosen is not None and -chosen >= logps.get("min_drop", math.inf):
        doubts.append(f"chosen log-probs fell too ({chosen:+.0f} nats on eval): the policy is getting worse at "
                      "the preferred answers, not better")
    errors = sorted({a["rule"] for a in alerts if a.get("severity") == "error"})
    if errors:
        doubts.append("error alerts: " + ", ".join(errors))
    return f"suspect: {verdict}; but " + "; ".join(doubts) if doubts else verdict


def build_report(run_dir: Path) -> Report:
    """Read a run directory's events and recipe; nothing is trained or generated."""
    rd = RunDir(run_dir)
    events = read_all(rd.events)
    if not events:
        raise ReportError(f"{run_dir} has no readable {rd.events.name}: nothing to report on.")
    record = rd.read()
    evals = [e for e in events if e.get("kind") == "metric" and e.get("split") == "eval"]
    train = [e for e in events if e.get("kind") == "metric" and e.get("split") == "train"]
    statuses = [e for e in events if e.get("kind") == "status"]
    rep = Report(run=record.get("id", run_dir.name), method=record.get("method"),
                 status=statuses[-1].get("status") if statuses else None,
                 steps=max((int(e.get("step") or 0) for e in train), default=0))
    if evals:
        first, last = evals[0], evals[-1]
        rep.before_step, rep.after_step = first.get("step"), last.get("step")
        rep.eval_before, rep.eval_after = dict(first.get("values", {})), dict(last.get("values", {}))
    evaluation = [e for e in events if e.get("kind") == "evaluation"]
    if evaluation:
        rep.evaluation = dict(evaluation[-1].get("values") or {})
        step = evaluation[-1].get("step")
        rep.samples = latest_samples(events, step)
        if rep.samples:
            rep.evaluation["repetition"] = sample_repetition(rep.samples)
            rep.annotations = run_agreement(rd, rep.samples)
        complete_judge_result(rep.evaluation.get("judge"), rep.samples, rd.path)
    rep.head_to_head = latest_head_to_head(events)
    pref = rep.evaluation.get("preference")
    if pref and pref.get("pairs"):
        rep.verdict = pair_verdict(pref, rep.eval_after)
    elif len(evals) >= 2 and rep.after_step != rep.before_step:
        rep.verdict = preference_verdict(rep.eval_before, rep.eval_after)
    else:
        rep.verdict = "no before/after evaluation (set data.eval and keep train.eval_on_start: true)"
    rep.missing = missing_parts(rep, record.get("method"))
    recipe = recipe_of(run_dir)
    max_steps = next((e.get("max_steps") for e in statuses if e.get("max_steps")), None)
    monitor = monitor_for(recipe, max_steps)
    monitor.feed(events)  # re-evaluated with today's rules, so old runs get a verdict too
    rep.alerts = [a.to_event() for a in monitor.alerts]
    cfg = monitor.cfg
    tokens = monitor.history.tokens_per_sequence()
    floor = cfg.rejected_logps_floor * max(1.0, tokens / cfg.rejected_logps_floor_tokens) if tokens else \
        cfg.rejected_logps_floor
    rep.logps = logp_sanity(rep.eval_before, rep.eval_after, floor, cfg.rejected_logps_min_drop) \
        if any(k in rep.eval_after for k in LOGP_KEYS) else {}  # a reward model logs no log-probs
    rep.verdict = qualify(rep.verdict, rep.logps, rep.alerts, rep.evaluation)
    if rep.evaluation:
        cfg = recipe.report.verdict if recipe is not None else None
        rep.decision = decision.decide(rep.evaluation, rep.alerts, cfg).to_dict()
    if tokens and rep.logps:
        rep.logps["tokens_per_sequence"] = round(tokens, 1)
    return rep


def latest_samples(events: list[dict[str, Any]], step: Any) -> list[dict[str, Any]]:
    """The samples of one evaluation, by index; a sample judged again later (`reins report --judge-url`) replaces
    the earlier copy."""
    by_index = {e.get("index"): {k: v for k, v in e.items() if k not in ("t", "kind")} for e in events
                if e.get("kind") == "sample" and e.get("step") == step}
    return [by_index[i] for i in sorted(by_index, key=lambda i: (i is None, i or 0))]


def newest_samples(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples of the newest evaluation (the latest step that has samples), by index; [] when there are none."""
    steps = [e["step"] for e in events if e.get("kind") == "sample" and isinstance(e.get("step"), int)]
    return latest_samples(events, max(steps)) if steps else []


def perplexity_text(ppl: dict[str, Any]) -> str:
    def num(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, (int, float)) else "not finite"

    change = ppl.get("change_pct")
    rise = f"{change:+.2f}%" if isinstance(change, (int, float)) else "no ratio"
    return (f"perplexity on held-out plain text {num(ppl.get('reference'))} (reference) → {num(ppl.get('policy'))} "
            f"(policy), {rise}, limit +{ppl.get('max_increase_pct', 0):g}%")


def repetition(text: str, n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier one: ~0 for normal prose, toward 1 for a degenerate loop."""
    words = text.split()
    grams = [tuple(words[i: i + n]) for i in range(len(words) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def sample_repetition(samples: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Per model: mean n-gram repetition of its answers and how many loop (a looping policy is a classic failure of
    over-optimised preference training, invisible in the loss)."""
    if not samples:
        return None
    out: dict[str, Any] = {}
    for who in ("reference", "policy"):
        scores = [repetition(str(s.get(who, ""))) for s in samples]
        out[who] = round(sum(scores) / len(scores), 3)
        out[f"{who}_looping"] = sum(r >= LOOPING for r in scores)
    return out


def missing_parts(rep: Report, method: str | None) -> list[str]:
    """What this report lacks and why, so an absent section never reads as a clean bill of health."""
    spec = method_spec(method)
    if spec is not None and not spec.post_eval:
        return []  # a reward model is judged by its held-out accuracy; it generates nothing
    if not rep.evaluation:
        return ["post-training evaluation (generations, pair log-probs, perplexity, win rate): the run has no "
                "`evaluation` event — it did not complete, predates it, or set report.enabled: false"]
    out = [f"{part}: {why}" for part, why in (rep.evaluation.get("errors") or {}).items()]
    if "judge" not in rep.evaluation and "judge" not in (rep.evaluation.get("errors") or {}):
        out.append("win rate: no judge configured (set report.judge to a reward-model run or a chat endpoint)")
    return out


def judge_line(judge: dict[str, Any]) -> str:
    ci = judge.get("ci95")
    interval = f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else ""
    return (f"win rate of the policy against the reference: {judge['win_rate']:.3f}{interval} over {judge['n']} "
            f"prompts — {judge['wins']} wins, {judge['ties']} ties, {judge['losses']} losses "
            f"(judge: {judge['kind']} {judge['model']}; ties count half)")


def _quote(text: str, limit: int = 400) -> str:
    text = text.strip() or "(empty)"
    text = text if len(text) <= limit else text[:limit] + " …"
    return "\n".join("> " + line for line in text.splitlines())


def _spread(q: dict[str, Any]) -> str:
    return " / ".join(f"{q[k]:.1f}" if _finite(q[k]) is not None else str(q[k]) for k in ("min", "p5", "p50", "p95"))


def evaluation_markdown(rep: Report) -> list[str]:
    ev, lines = rep.evaluation, []
    pref = ev.get("preference")
    if pref and pref.get("pairs"):
        lines += [f"## Held-out pairs: which answer each model finds more likely ({pref['pairs']} pairs)", "",
                  "| | reference (before) | policy (after) |", "|---|---|---|"]
        for key, label in (("accuracy", "accuracy, summed log-prob"), ("margin", "mean margin (nats)"),
                           ("accuracy_per_token", "accuracy, per-token log-prob"),
                           ("logps_chosen", "mean log-prob, chosen"), ("logps_rejected", "mean log-prob, rejected")):
            lines.append(f"| {label} | {fmt(pref['reference'][key])} | {fmt(pref['policy'][key])} |")
        lines.append("")
        for side in ("chosen", "rejected"):
            q0, q1 = pref["reference"].get(f"logps_{side}_quantiles"), pref["policy"].get(f"logps_{side}_quantiles")
            if q0 and q1:
                lines.append(f"- {side} log-probs, min / p5 / median / p95: reference {_spread(q0)} → policy "
                             f"{_spread(q1)}")
        lines.append("")
    lines += checkpoints_markdown(ev.get("checkpoints"), rep.alerts)
    judge = ev.get("judge")
    if judge and judge.get("n"):
        lines += ["## Win rate", "", f"- {judge_line(judge)}"]
        lines += [f"- {text}" for text in (length_text(judge), judge.get("same_data") and SAME_DATA_NOTE) if text]
        lines.append("")
    lines += agreement_markdown(rep.annotations)
    ppl = ev.get("perplexity")
    if ppl:
        flag = "**regressed**" if ppl["regressed"] else "within limit"
        lines += ["## Capability check: perplexity on held-out plain text", "",
                  f"- {perplexity_text(ppl)}: {flag}; {ppl['texts']} texts, {ppl['tokens']} tokens"
                  + (f" ({ppl['note']})" if ppl.get("note") else ""), ""]
    lines += probes_markdown(ev.get("probes"), ev.get("lm_eval"))
    if rep.samples:
        loop = ev.get("repetition") or {}
        lines += [f"## Side-by-side generations (greedy, {len(rep.samples)} held-out prompts)", "",
                  f"Repeated word 3-grams, mean: reference {loop.get('reference', 0):.0%}, policy "
                  f"{loop.get('policy', 0):.0%}; answers that loop: reference {loop.get('reference_looping', 0)}, "
                  f"policy {loop.get('policy_looping', 0)}.", ""]
        for s in rep.samples[:SAMPLES_SHOWN]:
            winner = f" — judged: **{s['winner']}**" if s.get("winner") else ""
            lines += [f"### Prompt {s.get('index', 0) + 1}{winner}", "", _quote(s.get("prompt", ""), 600), "",
                      "Reference:", "", _quote(s.get("reference", "")), "", "Policy:", "",
                      _quote(s.get("policy", "")), ""]
    return lines


def markdown(rep: Report) -> str:
    """`report.md`: the same content for people."""
    lines = [f"# Report: {rep.run}", "", f"- method: {rep.method or '?'}; status: {rep.status or '?'}; "
             f"steps: {rep.steps}", f"- verdict: **{rep.verdict}**", ""]
    if rep.decision:
        lines += decision.markdown(decision.Decision(
            rep.decision["verdict"], [decision.RuleResult(**r) for r in rep.decision["rules"]]))
    if rep.eval_before or rep.eval_after:
        lines += [f"## Held-out evaluation (step {rep.before_step} → step {rep.after_step})", "",
                  "| metric | before | after |", "|---|---|---|"]
        keys = [k for k in (*PREFERENCE_KEYS, *LOGP_KEYS) if k in rep.eval_before or k in rep.eval_after]
        keys += sorted(set(rep.eval_after) - set(keys))
        for k in keys:
            lines.append(f"| {k} | {fmt(rep.eval_before.get(k, '—'))} | {fmt(rep.eval_after.get(k, '—'))} |")
        lines.append("")
        if rep.before_step == 0 and rep.eval_before.get("rewards/margins") == 0:
            lines += ["Before training the policy *is* the reference, so every implicit reward is 0 and TRL counts "
                      "the ties as wrong: the 'before' accuracy of the implicit reward is a baseline by definition, "
                      "not a measurement. " + ("The pair table below measures what the reference already preferred."
                                             if rep.evaluation.get("preference") else
                                             "Compare `logps/chosen` with `logps/rejected` before training to see "
                                             "what the reference already preferred."), ""]
    if rep.logps:
        lines += ["## Log-prob sanity (eval)", ""]
        for key in LOGP_KEYS:
            if key in rep.logps:
                v = rep.logps[key]
                lines.append(f"- {key}: {fmt(v['before'] if v['before'] is not None else '—')} → {fmt(v['after'])}")
        tokens = rep.logps.get("tokens_per_sequence")
        verdict = "has collapsed" if rep.logps["rejected_collapsed"] else "has not collapsed"
        lines += [f"- rejection {verdict} (floor {rep.logps['floor']:.0f}"
                  + (f" for ~{tokens:g} tokens per sequence" if tokens else "")
                  + f", and a fall of at least {rep.logps['min_drop']:g} nats; log-probs are sums over a response)",
                  ""]
    lines += evaluation_markdown(rep)
    lines += head_to_head_markdown(rep.head_to_head)
    lines += ["## Red flags", ""]
    lines += [f"- **{a['severity']}** `{a['rule']}` at step {a['step']}: {a['message']}" for a in rep.alerts] or \
        ["- none"]
    if rep.missing:
        lines += ["", "## Not in this report", ""] + [f"- {item}" for item in rep.missing]
    return "\n".join(lines) + "\n"


def write_report(run_dir: Path) -> Report:
    """Build the report and write `report.json` + `report.md` into the run directory."""
    rd = RunDir(run_dir)
    rep = build_report(rd.path)
    write_json_atomic(rd.report_json, rep.to_dict())
    rd.report_md.write_text(markdown(rep), encoding="utf-8")
    # in run.json too, so listings and sweeps rank runs without opening every report
    if rep.decision and rd.run_json.exists():
        rd.update(verdict=rep.decision["verdict"], headline=rep.decision["headline"])
    return rep


def perplexity_change(ppl: dict[str, Any]) -> str:
    """`+3.1%`, or `not finite` for a diverged policy, with `REGRESSED` past the limit."""
    change = ppl.get("change_pct")
    shown = f"{change:+.1f}%" if isinstance(change, (int, float)) else "not finite"
    return shown + (" REGRESSED" if ppl.get("regressed") else "")


def evaluation_rows(values: dict[str, Any]) -> dict[str, str]:
    """The post-training figures as short table cells (label → text), for side-by-side comparison of runs."""
    rows: dict[str, str] = {}
    pref = values.get("preference") or {}
    if pref.get("pairs"):
        rows["pair accuracy ref→policy"] = f"{fmt(pref['reference']['accuracy'])} → {fmt(pref['policy']['accuracy'])}"
        rows["pair margin ref→policy"] = f"{fmt(pref['reference']['margin'])} → {fmt(pref['policy']['margin'])}"
    rows.update(checkpoint_rows(values))
    judge = values.get("judge") or {}
    if judge.get("n"):
        ci = judge.get("ci95")
        rows["win rate (95% CI)"] = f"{judge['win_rate']:.2f}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")
        rows.update(length_rows(judge))
    ppl = values.get("perplexity") or {}
    if ppl:
        rows["perplexity change"] = perplexity_change(ppl)
    if probes_cell(values) is not None:
        rows["probes dropped"] = probes_cell(values)
    return rows


def evaluation_summary(values: dict[str, Any]) -> str:
    """The post-training evaluation in one line: pair accuracy, win rate, perplexity change, what failed."""
    parts = []
    pref = values.get("preference")
    if pref and pref.get("pairs"):
        parts.append(f"pair accuracy {fmt(pref['reference']['accuracy'])} → {fmt(pref['policy']['accuracy'])} "
                     f"(reference → policy, {pref['pairs']} pairs)")
    judge = values.get("judge")
    if judge and judge.get("n"):
        parts.append(f"win rate {judge['win_rate']:.2f} ({judge['wins']}/{judge['ties']}/{judge['losses']} W/T/L)")
    ppl = values.get("perplexity")
    if ppl:
        parts.append(f"perplexity {perplexity_change(ppl)}")
    if probes_cell(values) is not None:
        parts.append(f"probes dropped: {probes_cell(values)}")
    if values.get("samples"):
        parts.append(f"{values['samples']} samples")
    parts += [f"{k} failed: {v}" for k, v in (values.get("errors") or {}).items()]
    return "; ".join(parts) or "nothing measured"


@dataclass(frozen=True)
class WrittenReport:
    """A report as written into its run directory: the figures, the Markdown text and where both files are."""

    report: Report
    markdown: str
    json_path: Path
    markdown_path: Path


def write_report_files(run_dir: Path) -> WrittenReport:
    """`write_report`, also saying where the files went and what report.md says."""
    rd = RunDir(run_dir)
    rep = write_report(rd.path)
    return WrittenReport(rep, markdown(rep), rd.report_json, rd.report_md)

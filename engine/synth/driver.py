"""The synth loop, the same for a local model and an endpoint: prompts in batches, answers from `generate`, pairs
kept or skipped (and counted), rows appended per batch, progress reported, a stop honoured between batches."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.data.text import prompt_text
from engine.synth.plan import SynthPlan, read_prompts
from engine.synth.rows import append_rows, degenerate, pair_row, written_rows
from engine.synth.system_prompts import pair_for, text_hash

Messages = list[dict[str, str]]
# (chat prompts, seed, temperature) → one answer per prompt, in order
Generate = Callable[[Sequence[Messages], int, float], list[str]]
# sets `winner` (policy | reference | tie) and `scores` on each {prompt, messages, policy, reference} sample
JudgeFn = Callable[[list[dict[str, Any]]], None]
RESAMPLE_TEMPERATURE = 0.8  # a degenerate greedy pair is drawn again by sampling: greedy would repeat it
DEFAULT_BATCH = 16  # prompts per batch (and per fsynced append): resume granularity and generation width


@dataclass
class Counts:
    """What a synth run did: pairs written, prompts skipped and why, and pairs that needed a second draw."""

    prompts: int = 0
    done_before: int = 0  # written by an earlier attempt of the same run (skipped on resume)
    pairs: int = 0
    identical: int = 0
    empty: int = 0
    below_threshold: int = 0
    resampled: int = 0
    answers: int = 0  # answers generated, re-draws included
    seconds: float = 0.0
    skipped_rows: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 2)
        out["s_per_pair"] = round(self.seconds / self.pairs, 3) if self.pairs else None
        return out


Progress = Callable[[Counts], None]


def synthesize(plan: SynthPlan, run_id: str, generate: Generate, judge: JudgeFn | None = None,
               progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False) -> Counts:
    """Write the plan's pairs to `plan.out`, skipping prompt rows this run already wrote. Returns the counts; a
    stop request ends it after the batch in progress (its rows are written)."""
    items = list(enumerate(read_prompts(plan.prompts, plan.limit)))
    done = written_rows(Path(plan.out), run_id)
    counts = Counts(prompts=len(items), done_before=len(done))
    todo = [(i, row, msgs) for i, (row, msgs) in items if i not in done]
    width = plan.batch or DEFAULT_BATCH
    start = time.perf_counter()
    for b in range(0, len(todo), width):
        if should_stop():
            break
        chunk = todo[b: b + width]
        if plan.mode == "contrast":
            rows = _contrast(plan, run_id, chunk, generate, counts)
        else:
            rows = _best_of_n(plan, run_id, chunk, generate, judge, counts)
        append_rows(Path(plan.out), rows)
        counts.pairs += len(rows)
        counts.seconds = time.perf_counter() - start
        if progress:
            progress(counts)
    counts.seconds = time.perf_counter() - start
    return counts


def _provenance(plan: SynthPlan, run_id: str, index: int, seed: int, temperature: float,
                **extra: Any) -> dict[str, Any]:
    return {"run": run_id, "row": index, "mode": plan.mode, "generator": plan.generator.label, "seed": seed,
            "temperature": temperature, **extra}


def _contrast(plan: SynthPlan, run_id: str, chunk: list, generate: Generate, counts: Counts) -> list[dict]:
    """Each prompt under its category's good and degraded system prompt; a degenerate pair is drawn once more
    with the next seed (sampling), then skipped and counted if still degenerate."""
    systems = [pair_for(plan.system, row.get("category")) for _, row, _ in chunk]

    def ask(idx: list[int], seed: int, temperature: float) -> list[tuple[str, str]]:
        good = [[{"role": "system", "content": systems[k][1].good}, *chunk[k][2]] for k in idx]
        bad = [[{"role": "system", "content": systems[k][1].degraded}, *chunk[k][2]] for k in idx]
        answers = generate(good + bad, seed, temperature)
        counts.answers += len(answers)
        return list(zip(answers[: len(idx)], answers[len(idx):], strict=True))

    temperature = plan.sampling_temperature
    seed = plan.seed
    drawn = dict(enumerate(ask(list(range(len(chunk))), seed, temperature)))
    seeds = dict.fromkeys(drawn, seed)
    again = [k for k, (c, r) in drawn.items() if degenerate(c, r)]
    retry_temperature = max(temperature, RESAMPLE_TEMPERATURE)
    if again:
        for k, pair in zip(again, ask(again, seed + 1, retry_temperature), strict=True):
            drawn[k], seeds[k] = pair, seed + 1
        counts.resampled += len(again)
    rows = []
    for k, (index, row, msgs) in enumerate(chunk):
        chosen, rejected = drawn[k]
        why = degenerate(chosen, rejected)
        if why:
            setattr(counts, why, getattr(counts, why) + 1)
            counts.skipped_rows.append(index)
            continue
        name, pair = systems[k]
        system = {"chosen": {"name": f"{name}/good", "sha256": text_hash(pair.good)},
                  "rejected": {"name": f"{name}/degraded", "sha256": text_hash(pair.degraded)}}
        resampled = k in again
        rows.append(pair_row(msgs, chosen, rejected, row, _provenance(
            plan, run_id, index, seeds[k], retry_temperature if resampled else temperature, system=system,
            resampled=resampled, judge=None, scores=None)))
    return rows


def _best_of_n(plan: SynthPlan, run_id: str, chunk: list, generate: Generate, judge: JudgeFn | None,
               counts: Counts) -> list[dict]:
    """N sampled answers per prompt, judged round-robin (every two answers, both orders); an answer's score is its
    share of wins (ties half). The best and the worst make a pair when their gap reaches the threshold."""
    if judge is None:
        raise ValueError("best-of-n needs a judge")
    n, temperature, seed = plan.n, plan.sampling_temperature, plan.seed
    # sample j of every prompt is drawn with seed + j: reproducible, and distinct on an endpoint that honours seeds
    draws = [generate([msgs for _, _, msgs in chunk], seed + j, temperature) for j in range(n)]
    counts.answers += n * len(chunk)
    per_prompt = [[draws[j][k] for j in range(n)] for k in range(len(chunk))]
    samples = []
    for k, cands in enumerate(per_prompt):
        msgs = chunk[k][2]
        live = [i for i, a in enumerate(cands) if a.strip()]
        samples += [{"prompt": prompt_text(msgs), "messages": msgs, "policy": cands[i], "reference": cands[j],
                     "of": (k, i, j)} for x, i in enumerate(live) for j in live[x + 1:]]
    judge(samples)
    rows = []
    for k, (index, row, msgs) in enumerate(chunk):
        cands = per_prompt[k]
        mine = [s for s in samples if s["of"][0] == k]
        share = _win_shares(cands, mine)
        if len(share) < 2:
            counts.empty += 1
            counts.skipped_rows.append(index)
            continue
        best = max(share, key=share.get)
        worst = min((i for i in share if i != best), key=share.get)  # a pair of two answers, even if all tie
        why = degenerate(cands[best], cands[worst])
        if why is None and share[best] - share[worst] < plan.threshold:
            why = "below_threshold"
        if why:
            setattr(counts, why, getattr(counts, why) + 1)
            counts.skipped_rows.append(index)
            continue
        scores = {"chosen": round(share[best], 4), "rejected": round(share[worst], 4),
                  "gap": round(share[best] - share[worst], 4),
                  "all": [round(share[i], 4) if i in share else None for i in range(len(cands))]}
        rewards = _rewards(cands, mine)
        if rewards:
            scores["reward"] = {"chosen": rewards.get(best), "rejected": rewards.get(worst)}
        rows.append(pair_row(msgs, cands[best], cands[worst], row, _provenance(
            plan, run_id, index, seed, temperature, n=n, picked=[best, worst],
            seeds={"chosen": seed + best, "rejected": seed + worst}, judge=plan.judge_label(),
            scores=scores)))
    return rows


def _win_shares(cands: list[str], samples: list[dict[str, Any]]) -> dict[int, float]:
    """Per non-empty answer: (wins + ties/2) / games, over the round-robin games it played."""
    points: dict[int, float] = {}
    games: dict[int, int] = {}
    for s in samples:
        _, i, j = s["of"]
        won = {"policy": (1.0, 0.0), "reference": (0.0, 1.0)}.get(s.get("winner") or "tie", (0.5, 0.5))
        for who, p in zip((i, j), won, strict=True):
            points[who] = points.get(who, 0.0) + p
            games[who] = games.get(who, 0) + 1
    live = [i for i, a in enumerate(cands) if a.strip()]
    return {i: points.get(i, 0.0) / games[i] for i in live if games.get(i)}


def _rewards(cands: list[str], samples: list[dict[str, Any]]) -> dict[int, float]:
    """A reward model's score per answer (the same answer scores the same in every game; the first is kept)."""
    out: dict[int, float] = {}
    for s in samples:
        scores = s.get("scores") or {}
        if "policy" in scores and "reference" in scores:
            _, i, j = s["of"]
            out.setdefault(i, scores["policy"])
            out.setdefault(j, scores["reference"])
    return out

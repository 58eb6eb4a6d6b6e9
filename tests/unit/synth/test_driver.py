"""The synth loop with a scripted generator and judge: row provenance, degenerate pairs re-drawn then skipped and
counted, resume skipping rows already written, a stop between batches, best-of-N picking best and worst."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.synth.driver import synthesize
from engine.synth.plan import build_plan
from engine.synth.rows import written_rows
from engine.synth.system_prompts import text_hash

ROWS = [{"prompt": f"question {i}", "category": "verbose_vs_concise" if i % 2 else "no-such-category"}
        for i in range(6)]


@pytest.fixture
def prompts(tmp_path: Path, write_jsonl) -> Path:
    return write_jsonl(tmp_path / "prompts.jsonl", ROWS)


def _by_system(identical_for: set[str] = frozenset(), calls: list | None = None):
    """Answers naming their system prompt by its hash; prompts in `identical_for` get the same answer under both
    system prompts at temperature 0 (a degenerate greedy pair)."""
    def generate(batch, seed, temperature):
        if calls is not None:
            calls.append((len(batch), seed, temperature))
        out = []
        for msgs in batch:
            user = msgs[-1]["content"]
            if user in identical_for and temperature == 0:
                out.append(f"same answer to {user}")
            else:
                out.append(f"{text_hash(msgs[0]['content'])} answer to {user} (seed {seed})")
        return out
    return generate


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_contrast_rows_record_their_provenance(tmp_path: Path, prompts: Path) -> None:
    plan = build_plan(prompts, tmp_path / "out.jsonl", max_new_tokens=16, seed=7)
    counts = synthesize(plan, "run-1", _by_system())
    rows = _read(tmp_path / "out.jsonl")
    assert counts.pairs == len(rows) == 6 and counts.answers == 12
    first, second = rows[0], rows[1]
    assert first["prompt"] == [{"role": "user", "content": "question 0"}]  # no system turn in the pair
    assert first["chosen"][0]["role"] == "assistant" and first["chosen"] != first["rejected"]
    assert first["category"] == "no-such-category"
    prov = first["synth"]
    assert prov["run"] == "run-1" and prov["row"] == 0 and prov["mode"] == "contrast"
    assert prov["generator"] == "smollm2-135m-instruct" and prov["seed"] == 7 and prov["temperature"] == 0.0
    # an unknown category falls back to the general pair; a known one uses its own, named and hashed
    assert prov["system"]["chosen"]["name"] == "general/good"
    assert second["synth"]["system"]["rejected"]["name"] == "verbose_vs_concise/degraded"
    assert second["synth"]["system"]["chosen"]["sha256"] == text_hash(plan.system["verbose_vs_concise"].good)


def test_a_degenerate_pair_is_drawn_again_with_the_next_seed(tmp_path: Path, prompts: Path) -> None:
    calls: list = []
    plan = build_plan(prompts, tmp_path / "out.jsonl", seed=3)
    counts = synthesize(plan, "r", _by_system({"question 2"}, calls), )
    rows = {r["synth"]["row"]: r for r in _read(tmp_path / "out.jsonl")}
    assert counts.pairs == 6 and counts.resampled == 1 and counts.identical == 0
    assert calls[1] == (2, 4, 0.8)  # the one prompt, both answers, sampled with the next seed
    assert rows[2]["synth"]["resampled"] is True and rows[2]["synth"]["seed"] == 4
    assert rows[0]["synth"]["resampled"] is False


def test_pairs_still_identical_or_empty_are_skipped_and_counted(tmp_path: Path, prompts: Path) -> None:
    def generate(batch, seed, temperature):
        return ["" if "question 1" in m[-1]["content"] else "same" if "question 4" in m[-1]["content"]
                else f"{m[0]['content'][:12]} {m[-1]['content']}" for m in batch]

    counts = synthesize(build_plan(prompts, tmp_path / "out.jsonl"), "r", generate)
    assert counts.pairs == 4 and counts.empty == 1 and counts.identical == 1 and counts.resampled == 2
    assert sorted(counts.skipped_rows) == [1, 4]
    assert written_rows(tmp_path / "out.jsonl", "r") == {0, 2, 3, 5}


def test_resume_skips_rows_already_written(tmp_path: Path, prompts: Path) -> None:
    out = tmp_path / "out.jsonl"
    plan = build_plan(prompts, out, batch=2)
    batches = iter([False, True])  # stop before the second batch
    first = synthesize(plan, "r", _by_system(), should_stop=lambda: next(batches, True))
    assert first.pairs == 2 and written_rows(out, "r") == {0, 1}
    with open(out, "a") as fh:
        fh.write('{"torn": ')  # killed mid-append: the torn line is ignored and ended
    calls: list = []
    second = synthesize(plan, "r", _by_system(calls=calls))
    assert second.done_before == 2 and second.pairs == 4
    assert sum(n for n, _, _ in calls) == 8  # only the four missing prompts, two answers each
    assert written_rows(out, "r") == set(range(6))
    assert written_rows(out, "another-run") == set()


def test_best_of_n_keeps_best_and_worst_when_the_gap_clears_the_threshold(tmp_path: Path, prompts: Path) -> None:
    seeds: list[int] = []

    def generate(batch, seed, temperature):
        assert temperature == 0.8  # best-of-n samples by default
        seeds.append(seed)
        # sample j (seed j) of each prompt is j + 1 long; question 3's answers are all equally long
        return ["x" * (1 if "question 3" in m[-1]["content"] else seed + 1) for m in batch]

    def longer_wins(samples):
        for s in samples:
            a, b = len(s["policy"]), len(s["reference"])
            s["winner"] = "policy" if a > b else "reference" if b > a else "tie"

    plan = build_plan(prompts, tmp_path / "out.jsonl", mode="best-of-n", n=3, threshold=0.6,
                      judge="http://127.0.0.1:9/v1", judge_model="j")
    counts = synthesize(plan, "r", generate, longer_wins)
    rows = _read(tmp_path / "out.jsonl")
    assert counts.pairs == 5 and counts.identical == 1  # question 3: best and worst are the same text
    row = rows[0]
    assert row["chosen"][0]["content"] == "xxx" and row["rejected"][0]["content"] == "x"
    s = row["synth"]
    assert s["scores"]["chosen"] == 1.0 and s["scores"]["rejected"] == 0.0 and s["scores"]["all"] == [0.0, 0.5, 1.0]
    assert s["picked"] == [2, 0] and s["n"] == 3 and s["judge"] == "openai:j @ http://127.0.0.1:9/v1"
    assert seeds == [0, 1, 2] and s["seeds"] == {"chosen": 2, "rejected": 0}

    high = build_plan(prompts, tmp_path / "out2.jsonl", mode="best-of-n", n=3, threshold=1.0,
                      judge="local:some-model")

    def all_tie(samples):
        for s in samples:
            s["winner"] = "tie"

    assert synthesize(high, "r", generate, all_tie).below_threshold == 5

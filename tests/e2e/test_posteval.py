"""Post-training evaluation through the real worker: samples, pair log-probs, perplexity, both kinds of judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.paths import BUNDLED_RECIPES
from engine.runs import events as ev

pytestmark = pytest.mark.e2e
# Full fine-tuning at a high learning rate: after 4 steps the tiny policy answers differently from its reference.
DIVERGE = {"train": {"max_steps": 4, "learning_rate": 5e-2}, "lora": None}


def _events(run_dir: Path, kind: str) -> list[dict]:
    return [e for e in ev.read_all(run_dir / "events.jsonl") if e["kind"] == kind]


@pytest.fixture
def train_to_end(reins, tiny_recipe):  # noqa: ANN201 - a factory
    """train_to_end(tmp_path, model, runs, base="dpo", **sections): the tiny recipe trained to completion."""

    def run(tmp_path: Path, model: Path, runs: Path, base: str = "dpo", **sections) -> Path:
        res = reins("run", str(tiny_recipe(tmp_path, model, base, **sections)), "--wait", "--json", runs=runs)
        assert res.returncode == 0, res.stderr[-3000:]
        out = json.loads(res.stdout)
        assert out["status"] == "completed"
        return Path(out["path"])

    return run


def test_chat_judge_on_loopback_decides_the_win_rate(tmp_path: Path, tiny_model: Path, fake_judge, prefers_longer,
                                                     train_to_end) -> None:
    with fake_judge(prefers_longer) as fake:
        run_dir = train_to_end(tmp_path, tiny_model, tmp_path / "runs", **DIVERGE, report={
            "samples": 3, "max_new_tokens": 8, "judge": {"kind": "openai", "url": fake["url"], "model": "fake-judge"}})
    samples = _events(run_dir, "sample")
    held_out = [json.loads(line) for line in (BUNDLED_RECIPES / "data/prefs.eval.jsonl")
                .read_text().splitlines()[:3]]
    assert [s["prompt"] for s in samples] == [r["prompt"][0]["content"] for r in held_out]
    assert all(s["step"] == 4 for s in samples)
    assert any(s["policy"] != s["reference"] for s in samples)
    # the fake prefers the longer answer; a verdict counts only if it survives swapping A and B
    expected = ["tie" if len(s["policy"]) == len(s["reference"]) else
                "policy" if len(s["policy"]) > len(s["reference"]) else "reference" for s in samples]
    assert [s["winner"] for s in samples] == expected
    asked = sum(s["policy"].strip() != s["reference"].strip() for s in samples)
    assert len(fake["requests"]) == 2 * asked
    (evaluation,) = _events(run_dir, "evaluation")
    judge = evaluation["values"]["judge"]
    assert judge["n"] == 3 and judge["wins"] == expected.count("policy") and judge["model"] == "fake-judge"
    assert judge["ci95"][0] <= judge["win_rate"] <= judge["ci95"][1]
    pref = evaluation["values"]["preference"]
    assert pref["pairs"] > 0 and pref["reference"] != pref["policy"]  # the policy moved; the reference did not
    ppl = evaluation["values"]["perplexity"]
    assert ppl["texts"] == 24 and ppl["reference"] > 1 and ppl["policy"] != ppl["reference"]
    report = json.loads((run_dir / "report.json").read_text())  # written by the worker at the end
    assert report["evaluation"]["judge"] == judge and len(report["samples"]) == 3
    assert "## Win rate" in (run_dir / "report.md").read_text()


def test_reward_model_run_as_judge(tmp_path: Path, tiny_model: Path, reins, train_to_end) -> None:
    runs = tmp_path / "runs"
    rm_dir = train_to_end(tmp_path, tiny_model, runs, base="rm", train={"max_steps": 2, "max_length": 512})
    assert _events(rm_dir, "evaluation") == []  # a reward model generates nothing to evaluate
    run_dir = train_to_end(tmp_path, tiny_model, runs, **DIVERGE, report={
        "samples": 2, "max_new_tokens": 8, "perplexity_texts": 0,
        "judge": {"kind": "reward_model", "model": f"run:{rm_dir.name[:15]}"}})
    samples = _events(run_dir, "sample")
    assert len(samples) == 2
    for s in samples:
        p, r = s["scores"]["policy"], s["scores"]["reference"]
        assert s["winner"] == ("tie" if p == r else "policy" if p > r else "reference")
    (evaluation,) = _events(run_dir, "evaluation")
    assert evaluation["values"]["judge"]["kind"] == "reward_model" and evaluation["values"]["judge"]["n"] == 2
    assert "perplexity" not in evaluation["values"]
    recipe = (run_dir / "recipe.yaml").read_text()
    assert f"run:{rm_dir.name}" in recipe  # the id prefix was pinned to the full run id at launch
    # judging the stored samples again from the CLI loads the same reward model: the same scores
    res = reins("report", run_dir.name, "--judge-run", f"run:{rm_dir.name}", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)
    again = report["samples"]
    assert [s["scores"] for s in again] == pytest.approx([s["scores"] for s in samples], abs=1e-3)
    # both runs trained on the bundled preference data: the win rate measures agreement with it, and says so
    assert report["evaluation"]["judge"]["same_data"] is True
    assert "the judge was trained on the same data as the policy" in (run_dir / "report.md").read_text()
    assert all(s["messages"][0]["role"] == "user" for s in again)


def test_unreachable_judge_costs_the_win_rate_not_the_run(
        tmp_path: Path, tiny_model: Path, fake_judge, train_to_end,
) -> None:
    with fake_judge() as fake:
        url = fake["url"]  # closed when the block ends: nothing listens there any more
    run_dir = train_to_end(tmp_path, tiny_model, tmp_path / "runs", **DIVERGE, report={
        "samples": 2, "max_new_tokens": 4, "pairs": 4, "perplexity_texts": 2,
        "judge": {"kind": "openai", "url": url, "model": "gone", "timeout_s": 5}})
    (evaluation,) = _events(run_dir, "evaluation")
    values = evaluation["values"]
    assert "could not be reached" in values["errors"]["judge"] and "judge" not in values
    assert values["preference"]["pairs"] <= 4 and values["perplexity"]["texts"] == 2 and values["samples"] == 2
    report = json.loads((run_dir / "report.json").read_text())
    assert any("could not be reached" in m for m in report["missing"])

"""`reins report A --against B`: two finished runs judged on their common prompts, and the same-data note for a judge
that is a run trained on the judged run's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import api
from engine.errors import RunNotFoundError
from engine.runs.events import read_all
from engine.runs.rundir import RunDir
from engine.verdict.judge_data import NOTE, same_data
from engine.verdict.report import ReportError

A, B, RUNNING, ELSEWHERE, RM = ("20261127-000000-a", "20261127-010000-b", "20261127-020000-running",
                                "20261127-030000-elsewhere", "20261127-040000-rm")


def _finished(make_run, runs: Path, run_id: str, answers: dict[str, str], status: str = "completed",
              judge: dict | None = None, winner: str | None = None):
    samples = [("sample", {"step": 4, "index": i, "prompt": p, "reference": "ref", "policy": a,
                           "winner": winner, "tokens": {"policy": len(a), "reference": 3}})
               for i, (p, a) in enumerate(answers.items())]
    events = [("status", {"status": "running", "max_steps": 4}), *samples,
              ("evaluation", {"step": 4, "values": {"samples": len(samples), **({"judge": judge} if judge else {})}})]
    if status == "completed":
        events.append(("status", {"status": "completed", "summary": {"steps": 4}}))
    return make_run(runs, run_id, status=status, events=events)


@pytest.fixture
def store(tmp_path: Path, make_run, write_recipe) -> Path:
    runs = tmp_path / "runs"
    # A answers q1 longer than B and q2 shorter; q0 only A answered, q3 only B
    a = _finished(make_run, runs, A, {"q0": "solo", "q1": "a long detailed answer", "q2": "short"})
    write_recipe(a.recipe, "dpo", "m")
    _finished(make_run, runs, B, {"q1": "brief", "q2": "a much longer answer here", "q3": "other"})
    _finished(make_run, runs, RUNNING, {"q1": "x"}, status="running")
    _finished(make_run, runs, ELSEWHERE, {"z": "nothing shared"})
    rm = make_run(runs, RM, events=[("status", {"status": "completed", "summary": {"steps": 2}})])
    write_recipe(rm.recipe, "rm", "m")  # the bundled rm recipe trains on the dpo recipe's preference data
    return runs


def test_against_judges_common_prompts_in_both_orders_and_stores_the_result(store: Path, fake_judge,
                                                                            prefers_longer) -> None:
    with fake_judge(prefers_longer) as fake:
        result = api.head_to_head(A, B[:15], judge_url=fake["url"], judge_model="judge-1", runs_dir=store)
    assert len(fake["requests"]) == 4  # 2 common prompts × 2 orders
    assert result["against"] == B and result["prompts"] == {"matched": 2, "run": 3, "against": 3}
    judge = result["judge"]
    assert (judge["wins"], judge["ties"], judge["losses"], judge["n"]) == (1, 0, 1, 2)  # the longer answer won
    assert [v["winner"] for v in result["verdicts"]] == ["policy", "reference"]
    assert judge["lengths"] == {"policy": 13.5, "reference": 15.0} and judge["length_unit"] == "tokens"
    assert judge["length_matched"]["n"] == 0  # 22 vs 5 and 5 vs 25 characters-as-tokens: neither is matched
    stored = [e for e in read_all(RunDir(store / A).events) if e["kind"] == "head_to_head"]
    assert len(stored) == 1 and stored[0]["against"] == B and stored[0]["judge"] == judge
    assert not [e for e in read_all(RunDir(store / B).events) if e["kind"] == "head_to_head"]  # B is untouched
    md = api.write_report(A, store).markdown
    assert "## Head to head" in md and f"against {B}: win rate of this run 0.500" in md


def test_the_report_lists_the_latest_result_against_each_run(store: Path, fake_judge, always_first,
                                                             prefers_longer) -> None:
    with fake_judge(prefers_longer) as fake:
        api.head_to_head(A, B, judge_url=fake["url"], judge_model="judge-1", runs_dir=store)
    with fake_judge(always_first) as fake:
        later = api.head_to_head(A, B, judge_url=fake["url"], judge_model="judge-2", runs_dir=store)
    assert later["judge"]["ties"] == 2  # a position-biased judge: ties, not wins
    section = api.write_report(A, store).markdown.split("## Head to head")[1].split("##")[0]
    assert section.count(f"against {B}") == 1 and "judge-2" in section and "judge-1" not in section


def test_without_judge_options_the_recipe_judge_decides(store: Path, fake_judge, prefers_longer,
                                                        write_recipe) -> None:
    with pytest.raises(ReportError, match=r"names no judge \(report.judge\)"):
        api.head_to_head(A, B, runs_dir=store)
    with fake_judge(prefers_longer) as fake:
        write_recipe(RunDir(store / A).recipe, "dpo", "m",
                     report={"judge": {"kind": "openai", "url": fake["url"], "model": "recipe-judge"}})
        result = api.head_to_head(A, B, runs_dir=store)
    assert result["judge"]["model"] == "recipe-judge" and len(fake["requests"]) == 4


@pytest.mark.parametrize(("against", "error", "message"), [
    ("20269999", RunNotFoundError, r"No run '20269999'"),
    (RUNNING, ReportError, rf"{RUNNING} has not finished"),
    (ELSEWHERE, ReportError, rf"{A} and {ELSEWHERE} have no prompt in common"),
    (A, ReportError, r"names .* itself"),
])
def test_against_refuses_what_cannot_be_compared(store: Path, fake_judge, against: str, error: type,
                                                 message: str) -> None:
    with fake_judge() as fake, pytest.raises(error, match=message):
        api.head_to_head(A, against, judge_url=fake["url"], judge_model="j", runs_dir=store)
    assert not fake["requests"]  # refused before the judge was asked
    assert not [e for e in read_all(RunDir(store / A).events) if e["kind"] == "head_to_head"]


def test_against_errors_exit_2_from_the_cli(store: Path, reins) -> None:
    res = reins("report", A, "--against", RUNNING, "--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "j",
                runs=store, timeout=120)
    assert res.returncode == 2 and "has not finished" in res.stderr and "Traceback" not in res.stderr
    res = reins("report", A, "--against", B, "--judge-run", "x", "--judge-local", "y", runs=store, timeout=120)
    assert res.returncode == 2 and "give one judge" in " ".join(res.stderr.split())


def test_a_judge_trained_on_the_same_data_is_noted(store: Path, make_run, write_recipe) -> None:
    assert same_data(f"run:{RM}", store / A) and same_data(f"run:{RM[:15]}", store / A)
    assert not same_data("some/chat-model", store / A) and not same_data("run:20269999", store / A)
    sft = _finished(make_run, store, "20261127-050000-sft", {"q": "a"})
    write_recipe(sft.recipe, "sft", "m")
    assert not same_data(f"run:{RM}", sft.path)  # another data set: the judge measures something else
    judged = _finished(make_run, store, "20261127-060000-judged", {"q": "a"},
                       judge={"kind": "reward_model", "model": f"run:{RM}", "wins": 1, "ties": 0, "losses": 0,
                              "n": 1, "win_rate": 1.0, "ci95": [0.2, 1.0]}, winner="policy")
    write_recipe(judged.recipe, "dpo", "m")
    written = api.write_report(judged.id, store)
    assert written.report.evaluation["judge"]["same_data"] is True and NOTE in written.markdown
    # a result stored before lengths existed gets them from its samples when reported
    assert written.report.evaluation["judge"]["lengths"] == {"policy": 1.0, "reference": 3.0}

"""`reins data synth` end to end through the real CLI and the worker subprocess: a tiny model makes pairs by
system-prompt contrast and by best-of-N with a local judge, a run is stopped and resumed without duplicates, and an
endpoint that refuses ends the command with exit 2 and the error recorded in the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runs.events import read_all
from engine.runs.rundir import RunDir

pytestmark = pytest.mark.e2e
PROMPTS = [{"prompt": f"Give me one tip about topic number {i}.", "category": cat}
           for i, cat in enumerate(["emotional_register", "verbose_vs_concise", "hallucination_vs_calibrated",
                                    "first_step_vs_everything", "unknown"] * 8)]


# One thread per worker: on a shared CPU a tiny model's many small ops run ~10× slower with two threads
# (measured: 0.66 s vs 5.7 s for two 24-token answers with the machine loaded).
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run_of(runs: Path) -> RunDir:
    (only,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "queue"]
    return RunDir(only)


def test_contrast_run_makes_one_pair_per_prompt(tmp_path: Path, tiny_model: Path, write_jsonl, reins) -> None:
    prompts = write_jsonl(tmp_path / "p.jsonl", PROMPTS[:5])
    out, runs = tmp_path / "pairs.jsonl", tmp_path / "runs"
    res = reins("data", "synth", str(prompts), str(out), "--model", str(tiny_model), "--max-new-tokens", "8",
                "--json", runs=runs, env=ONE_THREAD)
    assert res.returncode == 0, res.stderr[-3000:]
    final = json.loads(res.stdout)
    summary = final["synth"]
    assert final["kind"] == "generate" and final["status"] == "completed"
    assert summary["pairs"] + summary["identical"] + summary["empty"] == 5
    rows = _rows(out)
    assert len(rows) == summary["pairs"] >= 4
    assert {r["synth"]["row"] for r in rows} <= set(range(5))
    assert all(r["chosen"] != r["rejected"] and r["synth"]["generator"] == str(tiny_model) for r in rows)
    events = read_all(RunDir(Path(final["path"])).events)
    assert any(e["kind"] == "phase" and e.get("total") == 5 for e in events)
    listed = reins("ls", "--json", runs=runs)
    assert [(r["id"], r["kind"]) for r in json.loads(listed.stdout)] == [(final["id"], "generate")]


def test_a_stopped_run_resumes_where_it_left_off(tmp_path: Path, tiny_model: Path, write_jsonl, reins,
                                                 wait_until) -> None:
    prompts = write_jsonl(tmp_path / "p.jsonl", PROMPTS)
    out, runs = tmp_path / "pairs.jsonl", tmp_path / "runs"
    res = reins("data", "synth", str(prompts), str(out), "--model", str(tiny_model), "--max-new-tokens", "16",
                "--batch", "1", "--detach", runs=runs, env=ONE_THREAD)
    assert res.returncode == 0, res.stderr[-3000:]
    rd = _run_of(runs)
    wait_until(lambda: any(e["kind"] == "phase" and e.get("done") for e in read_all(rd.events)), what="a batch")
    stopped = reins("stop", rd.id, "--json", runs=runs)
    assert json.loads(stopped.stdout)["status"] == "stopped", stopped.stderr[-2000:]
    before = {r["synth"]["row"] for r in _rows(out)}
    assert 0 < len(before) < len(PROMPTS)
    resumed = reins("resume", rd.id, "--yes", "--wait", "--json", runs=runs, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "are skipped" in resumed.stderr
    final = json.loads(resumed.stdout)
    assert final["status"] == "completed" and final["synth"]["done_before"] == len(before)
    rows = [r["synth"]["row"] for r in _rows(out)]
    assert len(rows) == len(set(rows))  # nothing written twice
    assert len(rows) + final["synth"]["identical"] + final["synth"]["empty"] == len(PROMPTS)


def test_best_of_n_with_a_local_judge(tmp_path: Path, tiny_model: Path, write_jsonl, reins) -> None:
    prompts = write_jsonl(tmp_path / "p.jsonl", PROMPTS[:3])
    out = tmp_path / "pairs.jsonl"
    res = reins("data", "synth", str(prompts), str(out), "--mode", "best-of-n", "-n", "3", "--threshold", "0",
                "--model", str(tiny_model), "--judge", f"local:{tiny_model}", "--max-new-tokens", "8", "--json",
                runs=tmp_path / "runs", env=ONE_THREAD)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)["synth"]
    rows = _rows(out)
    assert len(rows) == summary["pairs"] and summary["pairs"] + summary["identical"] + summary["empty"] == 3
    for row in rows:
        scores = row["synth"]["scores"]
        assert scores["chosen"] >= scores["rejected"] and len(scores["all"]) == 3
        assert row["synth"]["judge"] == f"local:{tiny_model}"


def test_endpoint_pairs_and_a_refusal(tmp_path: Path, write_jsonl, reins, fake_chat) -> None:
    prompts = write_jsonl(tmp_path / "p.jsonl", PROMPTS[:6])
    with fake_chat(statuses=[429]) as server:
        res = reins("data", "synth", str(prompts), str(tmp_path / "ok.jsonl"), "--endpoint", server["url"],
                    "--endpoint-model", "fake", "--json", runs=tmp_path / "runs")
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)["synth"]
    assert summary["pairs"] == 6 and summary["requests"] == 13 and summary["retried"] == 1
    assert len(server["requests"]) == 13
    with fake_chat() as server:  # best-of-n: the endpoint generates and judges (longer wins, asked in both orders)
        res = reins("data", "synth", str(prompts), str(tmp_path / "best.jsonl"), "--mode", "best-of-n", "-n", "3",
                    "--endpoint", server["url"], "--endpoint-model", "fake", "--judge", server["url"],
                    "--judge-model", "fake-judge", "--temperature", "0.7", "--json", runs=tmp_path / "runs3")
    assert res.returncode == 0, res.stderr[-3000:]
    best = _rows(tmp_path / "best.jsonl")
    judged = [b for _, b in server["requests"] if b["model"] == "fake-judge"]
    assert best and all(len(r["chosen"][0]["content"]) > len(r["rejected"][0]["content"]) for r in best)
    assert len(judged) % 2 == 0 and len(judged) <= 6 * 3 * 2  # every compared pair asked in both orders
    with fake_chat(always=401) as server:
        res = reins("data", "synth", str(prompts), str(tmp_path / "no.jsonl"), "--endpoint", server["url"],
                    "--endpoint-model", "fake", runs=tmp_path / "runs2")
    assert res.returncode == 2, res.stderr[-3000:]
    assert "refused the request: HTTP 401" in res.stderr and "Traceback" not in res.stderr
    record = _run_of(tmp_path / "runs2").read()
    assert record["user_error"] is True and record["status"] == "failed"


def test_bad_input_is_exit_2_before_any_run(tmp_path: Path, write_jsonl, reins) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"question": "no prompt field"}])
    res = reins("data", "synth", str(bad), str(tmp_path / "o.jsonl"), runs=tmp_path / "runs")
    assert res.returncode == 2 and "row 1: missing field `prompt`" in res.stderr
    res = reins("data", "synth", str(tmp_path / "missing.jsonl"), str(tmp_path / "o.jsonl"), runs=tmp_path / "runs")
    assert res.returncode == 2 and "does not exist" in res.stderr
    assert not (tmp_path / "runs").exists()

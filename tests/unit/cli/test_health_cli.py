"""`reins health` and `reins report` through the real CLI: exit codes, JSON output, TRL formats, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.verdict.foreign import HealthInputError, log_history_to_events
from engine.verdict.healthcheck import check

ROOT = Path(__file__).resolve().parents[3]
TRACES = Path(__file__).resolve().parents[2] / "traces"
HEALTHY = TRACES / "public" / "dpo-healthy-1epoch-llama1b.json"  # a real, healthy DPO run's trainer_state.json



def test_log_history_split_and_totals() -> None:
    events = log_history_to_events([
        {"loss": 0.6, "rewards/margins": 0.1, "step": 1, "epoch": 0.1},
        {"eval_loss": 0.5, "eval_rewards/margins": 0.2, "eval_runtime": 3.0, "step": 1, "epoch": 0.1},
        {"train_runtime": 10.0, "train_loss": 0.6, "step": 1},
    ])
    assert [(e["split"], e["values"]) for e in events] == [
        ("train", {"loss": 0.6, "rewards/margins": 0.1}), ("eval", {"loss": 0.5, "rewards/margins": 0.2})]


def test_trl_trainer_state_nan_is_an_error_and_healthy_is_clean() -> None:
    bad = check(str(TRACES / "trl-trainer-state-nan.json"))
    assert bad.kind == "trl-trainer-state" and bad.exit_code == 1
    assert [a.rule for a in bad.alerts if a.severity == "error"] == ["loss_nonfinite"]
    demo = check(str(TRACES / "trl-trainer-state-demo.json"))  # a warning only: exit 0
    assert [a.rule for a in demo.alerts] == ["accuracy_overfit"] and demo.exit_code == 0 and demo.metric_events == 33
    good = check(str(HEALTHY))
    assert good.alerts == [] and good.exit_code == 0 and good.metric_events > 90


def test_bare_log_history_list_and_jsonl(tmp_path: Path) -> None:
    rows = json.loads((TRACES / "trl-trainer-state-nan.json").read_text())["log_history"]
    (tmp_path / "history.json").write_text(json.dumps(rows))
    (tmp_path / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name in ("history.json", "history.jsonl"):
        result = check(str(tmp_path / name))
        assert result.kind == "trl-log-history" and result.exit_code == 1


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"global_step": 3}', "without a `log_history` list"),
    ('{"log_history": [{"step": 1, "note": "text only"}]}', "no metric history"),
    ('{"log_history": [3]}', "log_history entry 0 is not an object"),
    ("42", "expected a trainer_state.json object"),
])
def test_bad_files_raise_input_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "trainer_state.json"
    path.write_text(content)
    with pytest.raises(HealthInputError, match=message):
        check(str(path))


def test_cli_exit_codes_and_json(tmp_path: Path, reins) -> None:
    nan = reins("health", str(TRACES / "trl-trainer-state-nan.json"), "--json")
    assert nan.returncode == 1, nan.stderr
    data = json.loads(nan.stdout)
    assert data["errors"] == 1 and data["alerts"][0]["rule"] == "loss_nonfinite"
    assert data["alerts"][0]["evidence"]["values"][-1] == "nan"  # the loss, which turned NaN at step 6
    healthy = reins("health", str(HEALTHY))
    assert healthy.returncode == 0 and "no red flags" in healthy.stdout
    flat = reins("health", str(TRACES / "not-learning-lr-1e-9.jsonl"))
    assert flat.returncode == 0 and "loss_flat" in flat.stdout and "warning" in flat.stdout  # warnings exit 0
    (tmp_path / "bad.json").write_text("{oops")
    for args in (["health", str(tmp_path / "bad.json")], ["health", "no-such-run-or-file"],
                 ["report", "no-such-run"]):
        res = reins(*args, runs=tmp_path / "runs")
        assert res.returncode == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr and "error:" in res.stderr


def test_report_writes_json_and_markdown(tmp_path: Path, reins) -> None:
    run = tmp_path / "20261127-000000-demo"
    run.mkdir()
    (run / "events.jsonl").write_text((TRACES / "demo-dpo-embedded-30.jsonl").read_text())
    (run / "run.json").write_text(json.dumps({"id": run.name, "method": "dpo"}))
    res = reins("report", str(run), "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert rep["eval_before"]["rewards/accuracies"] == 0.0 and rep["eval_after"]["rewards/accuracies"] == 1.0
    assert rep["eval_after"]["rewards/margins"] > rep["eval_before"]["rewards/margins"]
    assert rep["verdict"].startswith("improved") and [a["rule"] for a in rep["alerts"]] == ["accuracy_overfit"]
    assert rep["logps"]["rejected_collapsed"] is False
    assert json.loads((run / "report.json").read_text())["run"] == run.name
    md = (run / "report.md").read_text()
    assert "| rewards/accuracies | 0.0000 | 1.0000 |" in md and "no `evaluation` event" in md


def test_report_calls_a_collapsed_run_suspect(tmp_path: Path) -> None:
    run = tmp_path / "20261127-000000-lr100x"
    run.mkdir()
    (run / "events.jsonl").write_text((TRACES / "collapse-dpo-lr-100x.jsonl").read_text())
    from engine.verdict.report import write_report

    rep = write_report(run)
    # eval accuracy rose (0 → 0.75) but the log-probs collapsed: the verdict must not read as success
    assert rep.eval_after["rewards/accuracies"] > rep.eval_before["rewards/accuracies"]
    assert rep.verdict.startswith("suspect:") and "collapsed" in rep.verdict and "chosen log-probs fell" in rep.verdict
    assert rep.logps["rejected_collapsed"] is True
    assert {a["rule"] for a in rep.alerts} >= {"rejected_logps_collapse", "logps_both_falling"}

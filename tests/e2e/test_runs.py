"""End to end through the real detached subprocess and real TRL, on a tiny random Llama (seconds per run)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from engine.runs import events as ev

pytestmark = pytest.mark.e2e
DPO_KEYS = {"loss", "logps/chosen", "logps/rejected", "rewards/margins", "rewards/accuracies", "rewards/chosen",
            "rewards/rejected", "grad_norm", "learning_rate"}



def test_dpo_run_wait_json_then_ls(tmp_path: Path, tiny_model: Path, metric_events, reins, tiny_recipe) -> None:
    runs = tmp_path / "runs"
    res = reins("run", str(tiny_recipe(tmp_path, tiny_model, "dpo")), "--wait", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    run = json.loads(res.stdout)
    assert run["status"] == "completed"
    run_dir = Path(run["path"])
    train = metric_events(run_dir)
    assert len(train) >= 4
    assert all(DPO_KEYS <= set(e["values"]) for e in train)
    assert [e["step"] for e in train] == list(range(1, len(train) + 1))
    evals = metric_events(run_dir, "eval")
    assert len(evals) == 2 and evals[0]["step"] == 0  # eval at start, then at the end
    kinds = [e["kind"] for e in ev.read_all(run_dir / "events.jsonl")]
    assert "system" in kinds
    statuses = [e["status"] for e in ev.read_all(run_dir / "events.jsonl") if e["kind"] == "status"]
    assert statuses == ["created", "starting", "running", "completed"]
    final = [e for e in ev.read_all(run_dir / "events.jsonl") if e.get("status") == "completed"][0]["summary"]
    assert final["steps"] == 4 and final["final_metrics"]["rewards/margins"] == train[-1]["values"]["rewards/margins"]
    assert (run_dir / "final" / "adapter_config.json").is_file()
    estimate = json.loads((run_dir / "estimate.json").read_text())
    assert estimate["total_bytes"] > 0
    assert final["estimate_total_gib"] == estimate["total_gib"]  # recorded beside the measured peak
    record = json.loads((run_dir / "run.json").read_text())
    assert record["versions"]["trl"].startswith("1.12") and record["worker_pid"] != record["pid"]
    assert "method:\n  name: dpo" in (run_dir / "recipe.yaml").read_text()

    listed = json.loads(reins("ls", "--json", runs=runs).stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(run["id"], "completed")]


def test_sft_run(tmp_path: Path, tiny_model: Path, metric_events, reins, tiny_recipe) -> None:
    runs = tmp_path / "runs"
    res = reins("run", str(tiny_recipe(tmp_path, tiny_model, "sft")), "--wait", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    run_dir = Path(json.loads(res.stdout)["path"])
    train = metric_events(run_dir)
    assert len(train) == 4 and all({"loss", "mean_token_accuracy", "num_tokens"} <= set(e["values"]) for e in train)
    assert (run_dir / "final" / "adapter_model.safetensors").is_file()


def test_full_fine_tuning_dpo_with_ipo_loss(
        tmp_path: Path, tiny_model: Path, metric_events, reins, tiny_recipe,
) -> None:
    # No LoRA: TRL keeps a frozen reference copy. IPO's first loss is (1/(2β))² = 25 at β=0.1, unlike sigmoid's 0.693,
    # which shows the loss type really reaches TRL.
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=2, lora=None,
                         method={"loss_type": "ipo", "beta": 0.1, "sft_weight": 0.0},  # the IPO loss alone
                  data={"eval": None})
    res = reins("run", str(recipe), "--wait", "--json", runs=runs)
    assert res.returncode == 0, res.stderr[-3000:]
    first = metric_events(Path(json.loads(res.stdout)["path"]))[0]["values"]["loss"]
    assert first == pytest.approx(25.0, rel=1e-3)
    assert (Path(json.loads(res.stdout)["path"]) / "final" / "model.safetensors").is_file()


@pytest.fixture
def long_run(tmp_path: Path, tiny_model: Path, reins, tiny_recipe, wait_until, metric_events) -> tuple[dict, Path]:
    """A 5,000-step DPO run launched detached and past its second logged step: (its `--json` record, the store)."""
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=5000, data={"eval": None}, train={"save_total_limit": 1})
    res = reins("run", str(recipe), "--json", runs=runs)
    assert res.returncode == 0, res.stderr
    run = json.loads(res.stdout)
    assert run["status"] in ("starting", "running")
    run_dir = Path(run["path"])
    wait_until(lambda: len(metric_events(run_dir)) >= 2)
    return run, runs


def test_stop_saves_a_checkpoint_and_ends_stopped(long_run: tuple[dict, Path], reins) -> None:
    run, runs = long_run
    res = reins("stop", run["id"], "--json", "--timeout", "120", runs=runs)
    assert res.returncode == 0, res.stderr
    stopped = json.loads(res.stdout)
    assert stopped["status"] == "stopped"
    ckpts = list((Path(run["path"]) / "checkpoints").glob("checkpoint-*"))
    assert ckpts, "stop must leave a checkpoint"
    assert int(ckpts[0].name.split("-")[1]) == stopped["step"]


def test_sigkilled_worker_shows_crashed_with_metrics_intact(long_run: tuple[dict, Path], reins, wait_until) -> None:
    run, runs = long_run
    run_dir = Path(run["path"])
    worker = wait_until(lambda: json.loads((run_dir / "run.json").read_text()).get("worker_pid"))
    os.kill(worker, signal.SIGKILL)
    shown = wait_until(lambda: (s := json.loads(reins("show", run["id"], "--json", runs=runs).stdout))["status"]
                       == "crashed" and s, timeout=60)
    assert shown["step"] >= 2 and "rewards/margins" in shown["metrics"]

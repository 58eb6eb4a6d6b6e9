"""Shared fixtures of the TUI tests: run directories as a launcher and worker would leave them, written without
training (`fake_runs`), and waits on an app driven by the pilot (`settle`, `until`, `text_of`)."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from engine.paths import BUNDLED_RECIPES
from engine.recipe.keysettings import key_settings
from engine.runs.process import process_start_ticks

T0 = 1_790_000_000.0  # fixed timestamps: snapshots never depend on the clock


def dpo_values(step: int, lr: float = 2e-4, beta: float = 0.1) -> dict[str, float]:
    margin = (lr / 2e-4) * 0.05 * step + beta * 0.1
    return {
        "loss": round(0.693 - 0.02 * step * (lr / 2e-4), 4),
        "rewards/margins": round(margin, 4),
        "rewards/accuracies": round(min(1.0, 0.5 + 0.03 * step), 4),
        "rewards/chosen": round(0.02 * step, 4),
        "rewards/rejected": round(-margin + 0.02 * step, 4),
        "logps/chosen": round(-40 - 0.2 * step, 4),
        "logps/rejected": round(-60 - 1.5 * step, 4),
        "grad_norm": round(1.0 + 0.3 * math.sin(step), 4),
        "learning_rate": lr,
    }


def metric(step: int, values: dict[str, float], split: str = "train", max_steps: int = 20) -> dict[str, Any]:
    return {"t": T0 + step, "kind": "metric", "step": step, "epoch": round(step / max_steps, 4), "split": split,
            "values": values}


def write_run(root: Path, run_id: str, *, method: str = "dpo", status: str = "completed", steps: int = 20,
              max_steps: int = 20, lr: float = 2e-4, beta: float = 0.1, loss_type: str = "sigmoid",
              alerts: int = 0, live: bool = False, estimate_gib: float = 1.25, peak_gib: float | None = 0.98,
              name: str | None = None, tokens_per_step: int | None = None, record_settings: bool = True) -> Path:
    """A run directory as the launcher and worker would leave it. `live=True` records this test process as its
    pid, so readers see it running; `tokens_per_step` adds TRL's cumulative `num_tokens` to the train logs."""
    rd = root / run_id
    rd.mkdir(parents=True, exist_ok=True)
    recipe = yaml.safe_load((BUNDLED_RECIPES / f"{method}.yaml").read_text())
    recipe["train"]["learning_rate"] = lr
    if method == "dpo":
        recipe["method"].update(beta=beta, loss_type=loss_type)
    (rd / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    record: dict[str, Any] = {
        "id": run_id, "name": name or run_id[16:], "method": method, "model": "smollm2-135m-instruct",
        "created": "2026-09-21T10:00:00+00:00", "started": "2026-09-21T10:00:05+00:00", "host": "test",
        "status": "running" if live else status,
    }
    if not live and status in ("completed", "failed", "stopped"):
        record["ended"] = "2026-09-21T10:06:05+00:00"
    if record_settings:  # as the launcher records them; runs launched before it did have none
        record["settings"] = key_settings(recipe)
    if live:
        record.update(pid=os.getpid(), pid_start=process_start_ticks(os.getpid()))
    (rd / "run.json").write_text(json.dumps(record, indent=2))
    (rd / "estimate.json").write_text(json.dumps({"total_gib": estimate_gib, "terms": [], "verdict": None}))
    events = [{"t": T0, "kind": "status", "status": "created"}, {"t": T0, "kind": "status", "status": "starting"},
              {"t": T0 + 1, "kind": "status", "status": "running", "max_steps": max_steps}]
    if method == "dpo":
        events.append(metric(0, {k: v for k, v in dpo_values(0, lr, beta).items() if k.startswith(("rew", "logps",
                                                                                                   "loss"))},
                             "eval", max_steps))
    for step in range(1, steps + 1):
        values = dpo_values(step, lr, beta) if method == "dpo" else {"loss": round(2.0 - 0.05 * step, 4),
                                                                     "mean_token_accuracy": 0.4 + 0.01 * step}
        if tokens_per_step:
            values["num_tokens"] = float(step * tokens_per_step)  # TRL logs the running total
        events.append(metric(step, values, "train", max_steps))
        sys_values: dict[str, float] = {"rss_gb": 1.1, "s_per_step": 2.5, "tokens_per_s": 410.0}
        if peak_gib is not None:
            sys_values["peak_rss_gb"] = peak_gib
        events.append({"t": T0 + step, "kind": "system", "step": step, "values": sys_values})
        if step == 10 and method == "dpo":
            ev = {k: v for k, v in dpo_values(step, lr, beta).items() if k.startswith(("rew", "logps", "loss"))}
            events.append(metric(step, ev, "eval", max_steps))
    for i in range(alerts):
        events.append(alert_event(5 + i))
    if not live and status in ("completed", "stopped", "failed"):
        train = [e["values"] for e in events if e["kind"] == "metric" and e["split"] == "train"]
        summary = {"steps": steps, "final_metrics": train[-1] if train else {}, "peak_rss_gb": peak_gib}
        extra = {"error": "CUDA out of memory (test)"} if status == "failed" else {"summary": summary}
        events.append({"t": T0 + steps + 1, "kind": "status", "status": status, **extra})
    write_events(rd, events)
    return rd


def alert_event(step: int, rule: str = "rejected_logps_collapse") -> dict[str, Any]:
    return {"t": T0 + step, "kind": "alert", "step": step, "rule": rule, "severity": "warning",
            "message": "logps/rejected fell below -200: the rejection signal has collapsed",
            "evidence": {"logps/rejected": -231.5, "threshold": -200}}


SAMPLES = [
    ("Name three primary colours.", "Red, green and blue are the primary colours of light; for paint they are red, "
     "yellow and blue.", "Red, yellow, blue.", "policy"),
    ("Write a haiku about rain.", "Rain falls on the roof\nsoft drums in the quiet night\nthe garden drinks deep",
     "Rain is water that falls from clouds when droplets get heavy.", "reference"),
    ("What is 12 × 12?", "144", "12 × 12 = 144.", "tie"),
]


def sample_events(step: int = 20, judged: bool = True) -> list[dict[str, Any]]:
    """What the post-training evaluation writes: one `sample` per held-out prompt, then one `evaluation`."""
    events: list[dict[str, Any]] = [
        {"t": T0 + step + 1, "kind": "sample", "step": step, "index": i, "prompt": prompt, "reference": reference,
         "policy": policy, "winner": winner if judged else None}
        for i, (prompt, policy, reference, winner) in enumerate(SAMPLES)
    ]
    values: dict[str, Any] = {
        "preference": {"pairs": 32, "reference": {"accuracy": 0.5938, "margin": 42.16, "accuracy_per_token": 0.0625,
                                                  "logps_chosen": -96.4, "logps_rejected": -138.6},
                       "policy": {"accuracy": 0.6562, "margin": 48.28, "accuracy_per_token": 0.0938,
                                  "logps_chosen": -95.1, "logps_rejected": -143.4}},
        "perplexity": {"texts": 24, "tokens": 1312, "reference": 46.257, "policy": 46.246, "change_pct": -0.02,
                       "max_increase_pct": 10.0, "regressed": False},
        "samples": len(SAMPLES)}
    if judged:
        values["judge"] = {"kind": "openai", "model": "judge", "wins": 1, "ties": 1, "losses": 1, "n": 3,
                           "win_rate": 0.5, "ci95": [0.14, 0.86]}
    events.append({"t": T0 + step + 2, "kind": "evaluation", "step": step, "values": values})
    return events


def write_events(rd: Path, events: list[dict[str, Any]], mode: str = "w") -> None:
    with open(rd / "events.jsonl", mode, encoding="utf-8") as fh:
        for e in events:
            fh.write(json.dumps(e) + "\n")


def write_store(root: Path) -> list[str]:
    """A small store with one run of each status, for the Runs and Compare screens."""
    ids = [
        ("20260921-100000-dpo-beta01", dict(beta=0.1)),
        ("20260921-110000-dpo-beta03", dict(beta=0.3, lr=1e-4, alerts=1)),
        ("20260921-120000-ipo", dict(loss_type="ipo", status="stopped", steps=12)),
        ("20260921-130000-sft", dict(method="sft", steps=20)),
        ("20260921-140000-dpo-oom", dict(status="failed", steps=0, peak_gib=None)),
    ]
    for run_id, kwargs in ids:
        write_run(root, run_id, **kwargs)  # type: ignore[arg-type]
    return [i for i, _ in ids]


def pause_queue(root: Path) -> None:
    """A paused queue: readers that would start the store's scheduler for queued runs (engine.api.list_sweeps,
    queue_status) start none, so queued runs stay queued and no process is spawned."""
    (root / "queue").mkdir(parents=True, exist_ok=True)
    (root / "queue" / "settings.yaml").write_text("paused: true\n")


def write_queued(root: Path, run_id: str, *, seq: float, priority: int = 0, beta: float = 0.1,
                 need_gib: float = 1.3, sweep: dict[str, Any] | None = None) -> Path:
    """A run waiting in the queue, as `reins run --queue` leaves it (no process; the queue paused)."""
    pause_queue(root)
    rd = root / run_id
    rd.mkdir(parents=True, exist_ok=True)
    recipe = yaml.safe_load((BUNDLED_RECIPES / "dpo.yaml").read_text())
    recipe["method"]["beta"] = beta
    (rd / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    record: dict[str, Any] = {
        "id": run_id, "name": run_id[16:], "method": "dpo", "model": "smollm2-135m-instruct",
        "created": "2026-09-21T10:00:00+00:00", "host": "test", "status": "queued", "settings": key_settings(recipe),
        "need_gib": need_gib, "queue": {"priority": priority, "seq": seq, "submitted": "2026-09-21T10:00:00+00:00",
                                        "gpus": 1, "devices": None, "after": []},
        **({"sweep": sweep} if sweep else {}),
    }
    (rd / "run.json").write_text(json.dumps(record, indent=2))
    (rd / "estimate.json").write_text(json.dumps({"total_gib": need_gib, "terms": [], "verdict": None}))
    write_events(rd, [{"t": T0, "kind": "status", "status": "queued"}])
    return rd


def write_sweep(root: Path, sweep_id: str, members: list[dict[str, Any]], seeds: int = 1) -> list[str]:
    """A sweep over method.beta as `reins sweep` leaves it: its record (runs/sweeps/<id>.json) and one run per
    member. Each member: `beta`, `seed` (None with one seed), `status` (completed, running, queued…), `headline`
    ((value, low, high) or None: the report's win rate), `verdict`. Returns the members' run ids."""
    pause_queue(root)
    betas = list(dict.fromkeys(m["beta"] for m in members))
    entries, ids = [], []
    for i, m in enumerate(members):
        run_id = f"{sweep_id}-{i + 1}"
        label = f"beta={m['beta']}" + (f" seed={m['seed']}" if m.get("seed") is not None else "")
        sweep = {"id": sweep_id, "member": i, "label": label, "settings": {"method.beta": m["beta"]},
                 "seed": m.get("seed")}
        status = m.get("status", "completed")
        if status == "queued":
            rd = write_queued(root, run_id, seq=T0 + i, beta=m["beta"], sweep=sweep)
        else:
            rd = write_run(root, run_id, beta=m["beta"], status=status, live=status == "running",
                           steps=20 if status != "running" else 8, alerts=m.get("alerts", 0))
            record = json.loads((rd / "run.json").read_text())
            record["sweep"] = sweep
            if m.get("headline"):
                value, low, high = m["headline"]
                record["headline"] = {"metric": "win rate", "value": value, "low": low, "high": high, "n": 32}
                record["verdict"] = m.get("verdict", "inconclusive")
            (rd / "run.json").write_text(json.dumps(record, indent=2))
        ids.append(run_id)
        entries.append({"index": i, "label": label, "settings": {"method.beta": m["beta"]}, "seed": m.get("seed"),
                        "overrides": [f"method.beta={m['beta']}"], "merged": [], "run_id": run_id, "status": status})
    record = {"id": sweep_id, "name": sweep_id[16:], "source": "dpo", "recipe": "dpo", "description": "",
              "set": [], "grid": {"method.beta": betas}, "seeds": seeds, "metric": "auto", "direction": None,
              "columns": {"method.beta": "beta"}, "created": "2026-09-22T09:00:00+00:00", "status": "queued",
              "stages": [], "members": entries}
    (root / "sweeps").mkdir(parents=True, exist_ok=True)
    (root / "sweeps" / f"{sweep_id}.json").write_text(json.dumps(record, indent=2))
    return ids


SWEEP_CLEAR = "20260922-090000-sweep-clear"
SWEEP_TIED = "20260922-100000-sweep-tied"


def write_demo_sweeps(root: Path) -> tuple[str, str]:
    """Two sweeps over β: in the older one β=0.1's interval lies wholly above the others' (best); in the newer one
    the two finished points overlap (tied) and a third member still waits in the queue. Returns (older, newer)."""
    write_sweep(root, SWEEP_CLEAR, [
        {"beta": 0.05, "headline": (0.52, 0.40, 0.64)},
        {"beta": 0.1, "headline": (0.78, 0.69, 0.86), "verdict": "keep"},
        {"beta": 0.5, "headline": (0.41, 0.30, 0.52), "verdict": "don't keep", "alerts": 1},
    ])
    write_sweep(root, SWEEP_TIED, [
        {"beta": 0.1, "headline": (0.60, 0.48, 0.72)},
        {"beta": 0.3, "headline": (0.64, 0.52, 0.76)},
        {"beta": 1.0, "status": "queued"},
    ])
    return SWEEP_CLEAR, SWEEP_TIED


@pytest.fixture
def fake_runs() -> SimpleNamespace:
    """The run-directory writers: `write_run`, `write_store`, `write_events`, queued runs and sweeps
    (`write_queued`, `write_sweep`, `write_demo_sweeps`, `pause_queue`), and the events they are made of."""
    return SimpleNamespace(T0=T0, write_run=write_run, write_store=write_store, write_events=write_events,
                           metric=metric, dpo_values=dpo_values, alert_event=alert_event, sample_events=sample_events,
                           write_queued=write_queued, write_sweep=write_sweep, pause_queue=pause_queue,
                           write_demo_sweeps=write_demo_sweeps)


def _text_of(widget: Any) -> str:
    """The plain text a widget shows (whether it holds a string, Content or a rich renderable)."""
    from rich.console import Console

    visual = widget.render()
    if hasattr(visual, "plain"):
        return visual.plain
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(getattr(visual, "_renderable", visual))
    return console.export_text()


async def _settle(pilot: Any, app: Any, rounds: int = 3) -> None:
    """Let workers finish and their results reach the screen."""
    for _ in range(rounds):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    await pilot.pause(0.05)


async def _until(pilot: Any, app: Any, predicate: Callable[[], Any], tries: int = 80) -> None:
    """Wait (bounded) until the UI reaches a state; fails the test if it never does."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    assert predicate(), "the UI never reached the expected state"


@pytest.fixture
def text_of() -> Callable[[Any], str]:
    return _text_of


@pytest.fixture
def settle() -> Callable[..., Any]:
    return _settle


@pytest.fixture
def until() -> Callable[..., Any]:
    return _until

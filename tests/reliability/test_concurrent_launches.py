"""Many writers at once: 20 launches from 4 processes at the same instant, each listing as it goes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
PROCESSES, PER_PROCESS = 4, 5

# Each process waits for the same start instant, then launches with the same name (so ids collide unless the
# launcher arbitrates) and lists the store after every launch (so the index has concurrent writers too).
LAUNCHER = """
import json, sys, time
from engine import api
recipe, start_at = sys.argv[1], float(sys.argv[2])
while time.time() < start_at:
    time.sleep(0.001)
ids = []
for _ in range({n}):
    ids.append(api.launch(recipe, name="same-name").id)
    api.list_runs()
print(json.dumps(ids))
"""


def test_twenty_launches_from_four_processes(tmp_path: Path, tiny_model: Path, quick_env, reins, tiny_recipe,
                                             wait_until) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model)
    env = quick_env(runs)
    start_at = time.time() + 8  # after every interpreter has imported the engine
    procs = [subprocess.Popen([sys.executable, "-c", LAUNCHER.format(n=PER_PROCESS), str(recipe), str(start_at)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(PROCESSES)]
    launched: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        launched += json.loads(out)
    assert time.time() > start_at

    assert len(launched) == PROCESSES * PER_PROCESS and len(set(launched)) == len(launched)  # no id collisions
    folders = sorted(p.name for p in runs.iterdir() if p.is_dir())
    assert folders == sorted(launched)
    for run_id in launched:  # each folder belongs to exactly one launch and says so
        assert json.loads((runs / run_id / "run.json").read_text())["id"] == run_id

    # The index as the concurrent writers left it: valid, and no run twice.
    index = json.loads((runs / "index.json").read_text())
    cached = Counter(d["id"] for d in index["runs"].values())
    assert cached and max(cached.values()) == 1, cached
    print(f"\nindex after the concurrent launches held {len(cached)} of {len(launched)} runs; "
          f"ids: {sorted(launched)[:3]} …")

    def all_completed() -> list[dict] | None:
        listed = json.loads(reins("ls", "--json", runs=runs).stdout)
        return listed if all(r["status"] == "completed" for r in listed) else None

    listed = wait_until(all_completed, timeout=120, what="all quick workers completed")
    assert sorted(r["id"] for r in listed) == sorted(launched)
    index = json.loads((runs / "index.json").read_text())
    assert sorted(d["id"] for d in index["runs"].values()) == sorted(launched)  # every run exactly once


def test_the_quick_worker_seam_is_opt_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from engine.launching.distributed import worker_command

    config = tmp_path / "accelerate_config.yaml"
    monkeypatch.delenv("REINS_TEST_WORKER_MODULE", raising=False)
    real = worker_command(tmp_path, config)
    assert real[1:3] == ["-m", "accelerate.commands.launch"] and real[-3:] == ["-m", "engine.worker", str(tmp_path)]
    monkeypatch.setenv("REINS_TEST_WORKER_MODULE", "quick_worker")
    assert worker_command(tmp_path, config) == [sys.executable, "-m", "quick_worker", str(tmp_path)]
